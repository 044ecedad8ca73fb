// Domain name normalisation shared by list parsing and config: lowercase, no trailing dot,
// LDH labels of 1-63 octets, at most 253 characters, at least two labels.

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

export function normalizeDomain(input: string): string | undefined {
  let name = input.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.split('.');
  if (labels.length < 2) return undefined;
  for (const label of labels) if (!LABEL.test(label)) return undefined;
  return name;
}
