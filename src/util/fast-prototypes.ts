// V8 keeps an object that has just become a prototype in a slow (dictionary) mode until an
// object whose prototype chain includes it has a property stored. `class X extends String`
// puts String.prototype in that mode (ioredis defines one, VerbatimString, for RESP3) and
// nothing ever stores a property on a String wrapper, so String.prototype stayed slow: every
// method call on a primitive string in optimised code (name.charCodeAt(), ...) went through
// V8's generic LoadIC. Measured: 7-8 % of the DNS thread on the blocked mix whenever Redis was
// configured, and a string loop 5x slower (docs/BENCHMARKS.md, stop 21).
/** Makes String.prototype fast again (one store on a String wrapper). Call after loading a module that subclasses String. */
export function makeStringPrototypeFast(): void {
  // A plain store (an inline cache: what makes the chain fast; Reflect.set would not) on a wrapper object.
  const wrapper = new String('') as string & { dnswardFastPrototype?: boolean };
  wrapper.dnswardFastPrototype = true;
}
