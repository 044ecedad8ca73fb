// Every served format, in the order the index and the subscriber page show them.
import { adblockRenderer } from './adblock.ts';
import { dnsmasqLegacyRenderer, dnsmasqRenderer } from './dnsmasq.ts';
import { domainsRenderer } from './domains.ts';
import type { Renderer } from './header.ts';
import { hostsRenderer } from './hosts.ts';
import { jsonRenderer } from './json.ts';
import { rpzRenderer } from './rpz.ts';
import { unboundRenderer } from './unbound.ts';
import { wildcardRenderer } from './wildcard.ts';

export type { Renderer, RenderOptions } from './header.ts';

export const RENDERERS: readonly Renderer[] = [
  hostsRenderer,
  domainsRenderer,
  wildcardRenderer,
  adblockRenderer,
  dnsmasqRenderer,
  dnsmasqLegacyRenderer,
  unboundRenderer,
  rpzRenderer,
  jsonRenderer,
];

export const FORMATS: readonly string[] = RENDERERS.map((r) => r.format);

export function rendererFor(format: string): Renderer | undefined {
  return RENDERERS.find((r) => r.format === format);
}
