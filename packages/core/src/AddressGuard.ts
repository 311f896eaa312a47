/**
 * The SSRF rules, pure: which URLs may be fetched and which IP addresses may be connected to.
 * The create request checks the URL at once; a fetcher checks every address it resolves, at
 * connect time and after each redirect, with {@link isPublicAddress}.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { VideoUrlRefusedError } from "./Errors.js"

/** The longest URL accepted. */
export const MAX_URL_LENGTH = 2048

type Range = readonly [base: number, bits: number]

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0

// Special-purpose IPv4 ranges (IANA registry): none of them is a public host.
const privateV4: ReadonlyArray<Range> = [
  [v4(0, 0, 0, 0), 8],
  [v4(10, 0, 0, 0), 8],
  [v4(100, 64, 0, 0), 10],
  [v4(127, 0, 0, 0), 8],
  [v4(169, 254, 0, 0), 16],
  [v4(172, 16, 0, 0), 12],
  [v4(192, 0, 0, 0), 24],
  [v4(192, 0, 2, 0), 24],
  [v4(192, 88, 99, 0), 24],
  [v4(192, 168, 0, 0), 16],
  [v4(198, 18, 0, 0), 15],
  [v4(198, 51, 100, 0), 24],
  [v4(203, 0, 113, 0), 24],
  [v4(224, 0, 0, 0), 4],
  [v4(240, 0, 0, 0), 4]
]

const inRange = (address: number, [base, bits]: Range) =>
  bits === 0 || (address >>> (32 - bits)) === (base >>> (32 - bits))

/** Parses a dotted-quad IPv4 address, or undefined. */
const parseV4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined
    value = value * 256 + Number(part)
  }
  return value
}

/** Parses an IPv6 address (with an optional trailing dotted quad) into 8 groups, or undefined. */
const parseV6 = (text: string): ReadonlyArray<number> | undefined => {
  let rest = text.toLowerCase().replace(/%.*$/, "")
  const tail: Array<number> = []
  const lastColon = rest.lastIndexOf(":")
  if (rest.slice(lastColon + 1).includes(".")) {
    const embedded = parseV4(rest.slice(lastColon + 1))
    if (embedded === undefined) return undefined
    tail.push(embedded >>> 16, embedded & 0xffff)
    // The groups before the dotted quad: keep a "::" that ends them, drop a single ":".
    const prefix = rest.slice(0, lastColon + 1)
    rest = prefix.endsWith("::") ? prefix : prefix.slice(0, -1)
  }
  const halves = rest.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string | undefined) => (half ? half.split(":") : [])
  const head = groups(halves[0])
  const back = halves.length === 2 ? groups(halves[1]) : []
  if ([...head, ...back].some((group) => !/^[0-9a-f]{1,4}$/.test(group))) return undefined
  const missing = 8 - head.length - back.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  return [...head.map((g) => parseInt(g, 16)), ...Array<number>(missing).fill(0), ...back.map((g) => parseInt(g, 16)), ...tail]
}

const isPublicV4 = (address: number) => !privateV4.some((range) => inRange(address, range))

const isPublicV6 = (groups: ReadonlyArray<number>): boolean => {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups
  const embeddedV4 = ((g6 << 16) | g7) >>> 0
  const upperZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (upperZero && (g5 === 0xffff || g5 === 0)) {
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), :: and ::1.
    return g5 === 0 && g6 === 0 ? false : isPublicV4(embeddedV4)
  }
  if (g0 === 0x64 && g1 === 0xff9b) return isPublicV4(embeddedV4) // NAT64
  if (g0 === 0x2002) return isPublicV4(((g1 << 16) | g2) >>> 0) // 6to4
  if ((g0 & 0xfe00) === 0xfc00) return false // unique local
  if ((g0 & 0xffc0) === 0xfe80 || (g0 & 0xffc0) === 0xfec0) return false // link-local, site-local
  if ((g0 & 0xff00) === 0xff00) return false // multicast
  if (g0 === 0x2001 && (g1 === 0x0db8 || g1 < 0x0200)) return false // documentation, TEREDO, benchmarking
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return false // discard-only
  return true
}

/**
 * Whether an IP address (v4 or v6, as text) is a public unicast address: not loopback, private,
 * link-local, CGNAT, multicast, documentation, or an IPv4-mapped, -compatible, NAT64 or 6to4
 * form of one. Text that is not an IP address is not public.
 */
export const isPublicAddress = (address: string): boolean => {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  const asV4 = parseV4(bare)
  if (asV4 !== undefined) return isPublicV4(asV4)
  const asV6 = bare.includes(":") ? parseV6(bare) : undefined
  return asV6 !== undefined && isPublicV6(asV6)
}

/** Whether a host name (as the URL parser normalised it) is an IP literal. */
export const isIpLiteral = (hostname: string): boolean =>
  parseV4(hostname) !== undefined || (hostname.startsWith("[") && parseV6(hostname.slice(1, -1)) !== undefined)

/**
 * Checks a URL before anything is fetched: http or https, no credentials, at most
 * {@link MAX_URL_LENGTH} characters, and a host that is not a private address or a local name.
 * The URL parser has already turned numeric tricks such as `0x7f000001` into `127.0.0.1`.
 * `allowHost` opens the guard for named hosts (tests on loopback); `field` names the URL in the
 * refusal (`video_url`, `callback_url`).
 */
export const checkUrl = (
  raw: string,
  allowHost: (host: string) => boolean = () => false,
  field = "video_url"
): Either.Either<URL, VideoUrlRefusedError> => {
  const refuse = (why: string) => Either.left(new VideoUrlRefusedError({ message: `${field} refused: ${why}` }))
  if (raw.length > MAX_URL_LENGTH) return refuse(`longer than ${MAX_URL_LENGTH} characters`)
  if (!URL.canParse(raw)) return refuse("not an absolute URL")
  const url = new URL(raw)
  if (url.protocol !== "http:" && url.protocol !== "https:") return refuse(`scheme ${url.protocol} is not http or https`)
  if (url.username !== "" || url.password !== "") return refuse("credentials in the URL")
  if (allowHost(url.host)) return Either.right(url)
  // A trailing dot names the same host ("localhost." is localhost).
  const host = url.hostname.toLowerCase().replace(/\.$/, "")
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return refuse(`${host} is a local name`)
  }
  if (isIpLiteral(host) && !isPublicAddress(host)) return refuse(`${host} is not a public address`)
  if (!host.includes(".") && !host.startsWith("[")) return refuse(`${host} is not a public host name`)
  return Either.right(url)
}
