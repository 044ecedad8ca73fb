// What `audit verify` reports (shared by the walk, the entry point and the formatter).

export interface VerifyProblem {
  instance: string;
  file: string;
  line: number;
  seq?: number;
  message: string;
}

export interface InstanceReport {
  instance: string;
  files: number;
  events: number;
  firstSeq: number;
  lastSeq: number;
  checkpoints: number;
  /** Seal lines (one per write, plus start and shutdown seals). */
  seals: number;
  lastCheckpointSeq: number;
  lastCheckpointTs?: string;
  /** Raw public keys (base64url) that signed this instance's seals and checkpoints. */
  keys: string[];
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  instances: InstanceReport[];
  /** What happened (set-aside tails, runs without a shutdown, drops): the log is still intact. */
  notes: string[];
  /** What an auditor should look at (clock going back, several keys and none pinned): the log is still intact. */
  warnings: string[];
}
