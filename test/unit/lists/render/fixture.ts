// One small snapshot every renderer test renders, and the header it must start with.
import { rendererFor } from '../../../../src/lists/render/index.ts';
import type { ListSnapshot } from '../../../../src/lists/types.ts';

export const snapshot: ListSnapshot = {
  name: 'demo',
  title: 'Demo',
  description: 'Two   domains\nand a host.',
  version: 'abcdef012345',
  lastModified: new Date('2026-11-28T09:30:00Z'),
  domains: ['example.com', 'example.net'],
  hosts: ['example.com', 'example.net', 'www.example.com'],
  license: 'CC0-1.0',
  origin: 'maintained',
};

export const options = { homepage: 'https://lists.example.org/', expires: '1 day' };

export const render = (format: string): string => rendererFor(format)?.render(snapshot, options) ?? '';

export const syntaxOf = (format: string): string => rendererFor(format)?.syntax ?? '';

export const HEADER = (m: string, entries: number, syntax: string): string =>
  [
    `${m} Title: Demo`,
    `${m} Description: Two domains and a host.`,
    `${m} Homepage: https://lists.example.org/`,
    `${m} License: CC0-1.0`,
    `${m} Version: abcdef012345`,
    `${m} Last modified: 2026-11-28T09:30:00Z`,
    `${m} Expires: 1 day`,
    `${m} Number of entries: ${entries}`,
    `${m} Syntax: ${syntax}`,
    m,
    '',
  ].join('\n');
