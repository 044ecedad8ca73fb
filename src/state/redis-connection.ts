// The ioredis clients of one replica and the state of its connection. Three connections:
// `main` for small commands (heartbeats, list changes, leases), `bulk` for big ones (stream
// batches, source bodies: a longer timeout) and `sub` for pub/sub (a subscribed connection
// can do nothing else). Every command fails fast: no offline queue, one retry, a command
// timeout; ioredis' defaults would hold a command for up to a minute while Redis is away.
// Reconnection goes on forever with capped backoff; only changes of state are logged.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/sections/redis.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { makeStringPrototypeFast } from '../util/fast-prototypes.ts';
import { type ConnectionState, SharedStateUnavailable, type StateStatus } from './types.ts';

// ioredis subclasses String (src/util/fast-prototypes.ts says what that costs the query path).
makeStringPrototypeFast();

export type RedisClient = Redis | Cluster;

export interface RedisClients {
  main: RedisClient;
  bulk: RedisClient;
  sub: RedisClient;
  /** Which configuration was used: url, sentinel or cluster. */
  mode: 'url' | 'sentinel' | 'cluster';
}

/** Reconnect delay: 100 ms doubling to 5 s, for ever. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 5000);
}

/** The options every connection gets; `role` names it in CLIENT LIST. */
export function clientOptions(config: RedisConfig, instance: string, role: 'main' | 'bulk' | 'sub', password: string | undefined): RedisOptions {
  const timeout = role === 'bulk' ? config.command_timeout_ms * 10 : config.command_timeout_ms;
  return {
    connectionName: `dnsward-${instance.replace(/[^A-Za-z0-9_.-]/g, '_')}-${role}`,
    // A subscriber queues its SUBSCRIBE until connected and resubscribes after a reconnect;
    // command connections refuse at once while not connected.
    enableOfflineQueue: role === 'sub',
    maxRetriesPerRequest: role === 'sub' ? null : 1,
    commandTimeout: role === 'sub' ? undefined : timeout,
    connectTimeout: Math.max(1000, config.command_timeout_ms * 2),
    retryStrategy: reconnectDelay,
    autoResubscribe: true,
    enableReadyCheck: true,
    ...(password !== undefined ? { password } : {}),
  };
}

/** Builds the three clients for the configured Redis (cluster, else sentinels, else url). They connect in the background. */
export function createRedisClients(config: RedisConfig, instance: string, env: NodeJS.ProcessEnv = process.env): RedisClients {
  let password: string | undefined;
  if (config.password_env !== undefined) {
    password = env[config.password_env];
    if (password === undefined || password === '') {
      throw new DnswardError(ErrorCodes.CONFIG, `redis.password_env: environment variable ${config.password_env} is not set; set it or remove the key`);
    }
  }
  const make = (role: 'main' | 'bulk' | 'sub'): RedisClient => {
    const options = clientOptions(config, instance, role, password);
    if (config.cluster) {
      const { retryStrategy: _ignored, enableOfflineQueue, ...redisOptions } = options;
      return new Cluster(
        config.cluster.map((node) => {
          const at = node.lastIndexOf(':');
          return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
        }),
        { redisOptions, enableOfflineQueue, clusterRetryStrategy: reconnectDelay, slotsRefreshTimeout: Math.max(1000, config.command_timeout_ms * 2) },
      );
    }
    if (config.sentinels) {
      return new Redis({ ...options, sentinels: config.sentinels, name: config.name as string, sentinelRetryStrategy: reconnectDelay, ...(password !== undefined ? { sentinelPassword: password } : {}) });
    }
    return new Redis(config.url as string, options);
  };
  return { main: make('main'), bulk: make('bulk'), sub: make('sub'), mode: config.cluster ? 'cluster' : config.sentinels ? 'sentinel' : 'url' };
}

/**
 * The state of the connection as health and metrics report it: `up` when the command
 * connections are ready and the last command did not time out; `connecting` until the first
 * time they are; `down` after that. Logs a line when it changes, not for every attempt.
 */
export class ConnectionTracker {
  private current: StateStatus = { state: 'connecting', since: new Date().toISOString() };
  private everUp = false;
  private failed: string | undefined;
  private lastError: string | undefined;
  private readonly listeners = new Set<(status: StateStatus) => void>();
  private readonly clients: RedisClient[];
  private readonly log: Logger;
  private closed = false;

  constructor(clients: RedisClient[], log: Logger) {
    this.clients = clients;
    this.log = log;
    for (const client of clients) {
      client.on('ready', () => this.update());
      client.on('close', () => this.update());
      client.on('end', () => this.update());
      client.on('error', (error: Error) => {
        this.lastError = error.message;
        this.update();
      });
    }
  }

  status(): StateStatus {
    return { ...this.current };
  }

  onChange(listener: (status: StateStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closing on purpose: no more state changes or log lines. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  /** Whether a command may be sent now (the connections are ready). */
  ready(): boolean {
    return this.clients.every((c) => c.status === 'ready');
  }

  /** A command failed for want of Redis (timeout, connection lost): down until one succeeds. */
  commandFailed(error: Error): void {
    this.failed = error.message;
    this.update();
  }

  commandSucceeded(): void {
    if (this.failed === undefined) return;
    this.failed = undefined;
    this.update();
  }

  /** Runs a command if the connections are ready; connection trouble becomes SharedStateUnavailable. */
  async run<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (!this.ready()) throw new SharedStateUnavailable(`redis is ${this.current.state === 'connecting' ? 'not connected yet' : 'unreachable'}${this.lastError ? ` (${this.lastError})` : ''}`);
    try {
      const result = await command();
      this.commandSucceeded();
      return result;
    } catch (error) {
      if ((error as Error).name === 'ReplyError') throw new DnswardError(ErrorCodes.STATE, `redis refused ${what}: ${(error as Error).message}`, { cause: error });
      this.commandFailed(error as Error);
      throw new SharedStateUnavailable(`redis did not answer ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  private update(): void {
    if (this.closed) return;
    const ready = this.ready();
    let state: ConnectionState;
    if (ready && this.failed === undefined) state = 'up';
    else state = this.everUp ? 'down' : 'connecting';
    if (state === 'up') this.everUp = true;
    const error = state === 'up' ? undefined : (this.failed ?? this.lastError);
    if (state === this.current.state && error === this.current.error) return;
    const changed = state !== this.current.state;
    this.current = { state, error, since: changed ? new Date().toISOString() : this.current.since };
    if (!changed) return;
    if (state === 'up') this.log.info('redis: connected; shared state in use');
    else if (state === 'down') this.log.warn({ code: ErrorCodes.STATE, error }, 'redis: unreachable; answering from the local policy, spooling block-log events, refusing list changes until it is back');
    for (const listener of this.listeners) listener(this.status());
  }
}
