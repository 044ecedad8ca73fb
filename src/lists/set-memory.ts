// Where the typed arrays of a DomainSet live. In ordinary memory by default; once the process
// runs DNS worker threads (dns.workers > 1, src/app.ts calls useSharedMemory() before any list
// loads) on SharedArrayBuffers, so that handing a set to the workers (DomainSet.share()) costs
// no copy: a million names would otherwise be copied once more on the main thread (40 MB, a
// stall of hundreds of ms on a busy host) and held twice while it runs.

type Typed = Uint8Array | Uint32Array | Int32Array;

interface TypedConstructor<T extends Typed> {
  new (length: number): T;
  new (buffer: SharedArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

let shared = false;

/** From now on, sets allocate on SharedArrayBuffers (one-way: for the rest of the process). */
export function useSharedMemory(): void {
  shared = true;
}

export function sharedMemoryInUse(): boolean {
  return shared;
}

/** A zeroed array of `length` elements: shared when `toShared` (by default: when useSharedMemory() was called). */
export function allocate<T extends Typed>(Type: TypedConstructor<T>, length: number, toShared = shared): T {
  return toShared ? new Type(new SharedArrayBuffer(length * Type.BYTES_PER_ELEMENT)) : new Type(length);
}

/** The first `length` elements of `source` in a new array (allocated as allocate() does). */
export function copyOf<T extends Typed>(source: T, length: number, toShared = shared): T {
  const copy = allocate(source.constructor as TypedConstructor<T>, length, toShared);
  copy.set(source.subarray(0, length) as never);
  return copy;
}

/** Whether `array` already lives in shared memory. */
export function isShared(array: Typed): boolean {
  return array.buffer instanceof SharedArrayBuffer;
}

/**
 * `array` with `length` elements (kept up to the shorter length, zeros after). In shared memory
 * (DNS workers) a new shared array, copied. Otherwise an array that owns its whole ArrayBuffer
 * moves to the new size with ArrayBuffer.transfer, which releases the old memory now: a copy
 * would leave it (tens of MB for a million names) until the next full GC, and the heap's peak
 * is what resident memory keeps. Views copy.
 */
export function resized<T extends Typed>(array: T, length: number, make: (buffer: ArrayBuffer) => T): T {
  if (shared) return copyOf(array, length, true);
  const buffer = array.buffer;
  const bytes = length * array.BYTES_PER_ELEMENT;
  if (buffer instanceof ArrayBuffer && !buffer.resizable && array.byteOffset === 0 && array.byteLength === buffer.byteLength) return make(buffer.transfer(bytes));
  const next = make(new ArrayBuffer(bytes));
  next.set(array.subarray(0, Math.min(length, array.length)) as never);
  return next;
}
