/** KMIP protocol versions: which ones kmipd speaks, and how a request's version is negotiated. */

export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

/** Every version kmipd speaks, in its order of preference (Discover Versions answers in this order). */
export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = [
  { major: 2, minor: 1 },
  { major: 2, minor: 0 },
  { major: 1, minor: 4 },
  { major: 1, minor: 3 },
  { major: 1, minor: 2 },
  { major: 1, minor: 1 },
  { major: 1, minor: 0 },
];

export const LATEST: ProtocolVersion = SUPPORTED_VERSIONS[0]!;

export function versionString(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

export function isSupported(v: ProtocolVersion): boolean {
  return SUPPORTED_VERSIONS.some((s) => s.major === v.major && s.minor === v.minor);
}

/** True when `v` is at least `major.minor`. */
export function atLeast(v: ProtocolVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function isV2(v: ProtocolVersion): boolean {
  return v.major >= 2;
}

/**
 * The version kmipd answers a request in. KMIP 2.1 §9.16: servers SHALL be backward compatible
 * within a major version, so a newer minor of a known major (1.5, 2.2) is answered in our highest
 * minor of that major; an unknown major has no answer (undefined).
 */
export function negotiate(requested: ProtocolVersion): ProtocolVersion | undefined {
  if (isSupported(requested)) return SUPPORTED_VERSIONS.find((s) => s.major === requested.major && s.minor === requested.minor);
  return SUPPORTED_VERSIONS.find((s) => s.major === requested.major && s.minor < requested.minor);
}
