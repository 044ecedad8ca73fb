// One registry of coded errors. Codes are public and stable (DNSWARD_ERR_*);
// every message tells the user what to change.

export const ErrorCodes = {
  CONFIG: 'DNSWARD_ERR_CONFIG',
  CONFIG_READ: 'DNSWARD_ERR_CONFIG_READ',
  LIST_UNKNOWN: 'DNSWARD_ERR_LIST_UNKNOWN',
  LIST_SYNTAX: 'DNSWARD_ERR_LIST_SYNTAX',
  LIST_SOURCE: 'DNSWARD_ERR_LIST_SOURCE',
  LISTEN: 'DNSWARD_ERR_LISTEN',
  AUDIT_CHAIN: 'DNSWARD_ERR_AUDIT_CHAIN',
  AUDIT_WRITE: 'DNSWARD_ERR_AUDIT_WRITE',
  AUDIT_KEY: 'DNSWARD_ERR_AUDIT_KEY',
  AUDIT_READ: 'DNSWARD_ERR_AUDIT_READ',
  AUTH: 'DNSWARD_ERR_AUTH',
  STATE: 'DNSWARD_ERR_STATE',
  LIST_CHANGE: 'DNSWARD_ERR_LIST_CHANGE',
  USAGE: 'DNSWARD_ERR_USAGE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class DnswardError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DnswardError';
    this.code = code;
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}
