/**
 * Reads osinfo-db (the database libosinfo and virt-manager use; Debian package `osinfo-db`)
 * at runtime: every `os/<vendor>/*.xml` entry's identity, its install media's ISO
 * identifiers (`<volume-id>`, `<system-id>`, `<publisher-id>`, `<application-id>` are
 * regular expressions, `<volume-size>` a number) and its recommended resources. Matching
 * follows libosinfo's `osinfo_media_matches`: every identifier the entry sets must match
 * (an unanchored regex search), identifiers it leaves out match anything.
 *
 * A deliberately small XML reading (regular expressions over the well-formed files the
 * package ships), not a general XML parser.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Where Debian's osinfo-db package installs the database. */
export const OSINFO_DIR = '/usr/share/osinfo';

/** ISO identifiers of one install medium (regexes as given by osinfo-db). */
export interface OsinfoMedia {
  volumeId?: RegExp;
  systemId?: RegExp;
  publisherId?: RegExp;
  applicationId?: RegExp;
  volumeSizeBytes?: number;
}

/** One OS entry of osinfo-db (the parts Vireo uses). */
export interface OsinfoOs {
  /** The osinfo id URI, e.g. http://microsoft.com/win/11. */
  uri: string;
  /** The short id, e.g. win11. */
  shortId: string;
  /** Display name, e.g. Microsoft Windows 11. */
  name: string;
  /** osinfo family (winnt, linux, ...). */
  family: string;
  /** Release date (YYYY-MM-DD), or '' when absent. */
  releaseDate: string;
  /** x86 install media. */
  media: OsinfoMedia[];
  /** Recommended (else minimum) resources for x86_64 / all, when given. */
  resources: { cpus?: number; ramBytes?: number; storageBytes?: number };
  /** Whether the entry says the OS needs EFI firmware on x86_64. */
  efiOnly: boolean;
}

/** What a medium's volume descriptors offer for matching. */
export interface MediaIdentity {
  volumeId: string;
  systemId: string;
  publisherId: string;
  applicationId: string;
  volumeSizeBytes: number;
}

const X86_ARCHES = new Set(['x86_64', 'i686', 'i386', 'all']);

function unescapeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Text of the first `<tag>` without attributes in `xml`, or ''. */
function firstText(xml: string, tag: string): string {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1] ?? '').trim() : '';
}

/** Compiles an osinfo (PCRE) regex; null when JavaScript cannot compile it. */
function compile(source: string): RegExp | undefined {
  if (!source) return undefined;
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

/** Parses one osinfo-db XML document into its OS entries (pure; exported for tests). */
export function parseOsinfoXml(xml: string): OsinfoOs[] {
  const out: OsinfoOs[] = [];
  for (const m of xml.matchAll(/<os id="([^"]+)">([\s\S]*?)<\/os>/g)) {
    const uri = m[1] ?? '';
    const body = m[2] ?? '';
    const shortId = firstText(body, 'short-id');
    if (!shortId) continue;
    const media: OsinfoMedia[] = [];
    for (const mm of body.matchAll(/<media([^>]*)>([\s\S]*?)<\/media>/g)) {
      const arch = /arch="([^"]+)"/.exec(mm[1] ?? '')?.[1] ?? 'all';
      if (!X86_ARCHES.has(arch)) continue;
      const iso = /<iso>([\s\S]*?)<\/iso>/.exec(mm[2] ?? '')?.[1];
      if (!iso) continue;
      const entry: OsinfoMedia = {
        volumeId: compile(firstText(iso, 'volume-id')),
        systemId: compile(firstText(iso, 'system-id')),
        publisherId: compile(firstText(iso, 'publisher-id')),
        applicationId: compile(firstText(iso, 'application-id')),
      };
      const size = Number(firstText(iso, 'volume-size'));
      if (size > 0) entry.volumeSizeBytes = size;
      if (entry.volumeId || entry.systemId || entry.publisherId || entry.applicationId) media.push(entry);
    }
    const resources: OsinfoOs['resources'] = {};
    for (const rm of body.matchAll(/<resources arch="([^"]+)">([\s\S]*?)<\/resources>/g)) {
      if (rm[1] !== 'x86_64' && rm[1] !== 'all') continue;
      for (const level of ['minimum', 'recommended']) {
        const block = new RegExp(`<${level}>([\\s\\S]*?)</${level}>`).exec(rm[2] ?? '')?.[1];
        if (!block) continue;
        const n = (tag: string): number | undefined => {
          const v = Number(firstText(block, tag));
          return v > 0 ? v : undefined;
        };
        resources.cpus = n('n-cpus') ?? resources.cpus;
        resources.ramBytes = n('ram') ?? resources.ramBytes;
        resources.storageBytes = n('storage') ?? resources.storageBytes;
      }
    }
    out.push({
      uri,
      shortId,
      name: firstText(body, 'name') || shortId,
      family: firstText(body, 'family'),
      releaseDate: firstText(body, 'release-date'),
      media,
      resources,
      efiOnly: /<firmware arch="x86_64" type="bios" supported="false"\/>/.test(body),
    });
  }
  return out;
}

/** Whether `media` describes a medium with `id` (libosinfo's rules). */
export function mediaMatches(media: OsinfoMedia, id: MediaIdentity): boolean {
  if (media.volumeId && !media.volumeId.test(id.volumeId)) return false;
  if (media.systemId && !media.systemId.test(id.systemId)) return false;
  if (media.publisherId && !media.publisherId.test(id.publisherId)) return false;
  if (media.applicationId && !media.applicationId.test(id.applicationId)) return false;
  if (media.volumeSizeBytes !== undefined && media.volumeSizeBytes !== id.volumeSizeBytes) return false;
  return true;
}

/** The loaded database. */
export interface OsinfoDb {
  /** Directory it was read from. */
  dir: string;
  /** Every OS entry. */
  oses: OsinfoOs[];
}

const cache = new Map<string, Promise<OsinfoDb | null>>();

/**
 * Loads osinfo-db from `dir` (default /usr/share/osinfo), once per directory; null when it
 * is not installed. Unreadable entries are skipped.
 */
export function loadOsinfo(dir = OSINFO_DIR): Promise<OsinfoDb | null> {
  let p = cache.get(dir);
  if (!p) {
    p = loadUncached(dir);
    cache.set(dir, p);
  }
  return p;
}

async function loadUncached(dir: string): Promise<OsinfoDb | null> {
  const osDir = path.join(dir, 'os');
  if (!existsSync(osDir)) return null;
  const oses: OsinfoOs[] = [];
  for (const vendor of await readdir(osDir, { withFileTypes: true })) {
    if (!vendor.isDirectory()) continue;
    const vendorDir = path.join(osDir, vendor.name);
    for (const file of await readdir(vendorDir)) {
      if (!file.endsWith('.xml')) continue;
      try {
        oses.push(...parseOsinfoXml(await readFile(path.join(vendorDir, file), 'utf8')));
      } catch {
        // An unreadable entry is skipped; the rest of the database still helps.
      }
    }
  }
  return { dir, oses };
}

/** Every OS with a medium matching `id`, newest release first. */
export function matchOsinfo(db: OsinfoDb, id: MediaIdentity): OsinfoOs[] {
  return db.oses
    .filter((o) => o.media.some((m) => mediaMatches(m, id)))
    .sort((a, b) => b.releaseDate.localeCompare(a.releaseDate) || a.shortId.localeCompare(b.shortId));
}
