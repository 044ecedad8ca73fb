// Which file an event goes to: one per UTC day (by the event's time, never going back to an
// earlier date when the clock steps back) and a new size index when max_file_mb is reached
// (keeping room for the seal line that ends each write).
import { eventFileName } from './files.ts';

export interface CurrentFile {
  date: string;
  index: number;
  name: string;
  /** Bytes on disk plus bytes queued for it. */
  bytes: number;
}

export class FileRotation {
  private readonly instance: string;
  private readonly maxFileBytes: number;
  private readonly reserveBytes: number;
  private file: CurrentFile | undefined;

  /**
   * `current`: the newest existing file (its size), when the log already has one.
   * `reserveBytes`: room kept in each file for lines that are not events (seals).
   */
  constructor(instance: string, maxFileBytes: number, current?: CurrentFile, reserveBytes = 0) {
    this.instance = instance;
    this.maxFileBytes = maxFileBytes;
    this.reserveBytes = reserveBytes;
    this.file = current;
  }

  /** The file new events go to now (undefined before the first event of an empty log). */
  get current(): CurrentFile | undefined {
    return this.file;
  }

  /** The file for a line of `lineBytes` bytes of an event dated `date` (YYYY-MM-DD); counts the bytes. */
  place(date: string, lineBytes: number): string {
    let file = this.file;
    if (!file || date > file.date) {
      file = { date, index: 0, name: eventFileName(this.instance, date, 0), bytes: 0 };
    } else if (file.bytes > 0 && file.bytes + lineBytes + this.reserveBytes > this.maxFileBytes) {
      const index = file.index + 1;
      file = { date: file.date, index, name: eventFileName(this.instance, file.date, index), bytes: 0 };
    }
    this.file = file;
    file.bytes += lineBytes;
    return file.name;
  }

  /** The file a line that is not an event goes to (the current one; a new one dated `date` in an empty log); counts the bytes. */
  placeOther(date: string, bytes: number): string {
    this.file ??= { date, index: 0, name: eventFileName(this.instance, date, 0), bytes: 0 };
    this.file.bytes += bytes;
    return this.file.name;
  }

  /** Counts bytes added to the file `name` (when it is the current one). */
  account(name: string, bytes: number): void {
    if (this.file?.name === name) this.file.bytes += bytes;
  }
}
