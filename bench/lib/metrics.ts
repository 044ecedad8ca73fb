// dnsward's /metrics as numbers, for the bench scripts that read its counters and memory gauges.

/** Every dnsward_* sample of dnsward's /metrics, by name with its labels (`name{a="b"}`); empty when dnsward does not answer. */
export async function readMetrics(apiPort: number | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (apiPort === undefined) return out;
  const text = await fetch(`http://127.0.0.1:${apiPort}/metrics`).then((r) => r.text(), () => '');
  for (const line of text.split('\n')) {
    if (!line.startsWith('dnsward_')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}
