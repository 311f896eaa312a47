/**
 * The box structure of MP4 and QuickTime files (ISO base media), read directly from the bytes:
 * what kind of file it is, whether it is cut short, and what size its video track declares, all
 * before any decoder sees the file.
 */
import type { FileHandle } from "node:fs/promises"

/** A run of bytes in a file. */
export interface ByteRange {
  readonly offset: number
  readonly length: number
}

/** The top level of an MP4 or QuickTime file. */
export interface Movie {
  readonly _tag: "Movie"
  /** The `ftyp` major brand, e.g. `isom` or `qt  `; undefined for an old QuickTime file without `ftyp`. */
  readonly majorBrand: string | undefined
  /** Where the payload of the first `moov` box (the movie header) is, when there is one. */
  readonly movieHeader: ByteRange | undefined
  /** The first top-level box that runs past the end of the file, and how many of its bytes are missing. */
  readonly cutShort: { readonly type: string; readonly missingBytes: number } | undefined
}

/** A file that is not an MP4 or QuickTime file, with what it looks like when that is recognised. */
export interface Foreign {
  readonly _tag: "Foreign"
  /** e.g. `Matroska or WebM`, `JPEG`. */
  readonly looksLike: string | undefined
}

/** What the sample description of the first video track declares. */
export interface DeclaredVideo {
  /** The sample entry's type, the codec's tag: `avc1`, `hvc1`, ... */
  readonly codecTag: string
  readonly width: number
  readonly height: number
}

// Old QuickTime files have no `ftyp` and may start with any of these.
const QUICKTIME_FIRST_BOXES: ReadonlySet<string> = new Set(["moov", "mdat", "free", "skip", "wide", "pnot"])

// Containers people rename to .mp4 most often, by their leading bytes, to say what a refused file is.
const SIGNATURES: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly bytes: ReadonlyArray<number> }> = [
  { name: "Matroska or WebM", offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] },
  { name: "AVI", offset: 8, bytes: [0x41, 0x56, 0x49, 0x20] },
  { name: "JPEG", offset: 0, bytes: [0xff, 0xd8, 0xff] },
  { name: "PNG", offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47] },
  { name: "GIF", offset: 0, bytes: [0x47, 0x49, 0x46, 0x38] }
]

// A fragmented 60 s clip with a fragment per frame at 60 fps has about 7,200 top-level boxes.
const MAX_TOP_LEVEL_BOXES = 10_000

const SNIFF_BYTES = 16

interface BoxHeader {
  readonly type: string
  readonly headerSize: number
  /** Header included. */
  readonly size: number
}

const fourCC = (bytes: Uint8Array, offset: number): string | undefined => {
  const code = bytes.subarray(offset, offset + 4)
  // Printable ASCII, and © which QuickTime uses in metadata box types.
  const printable = code.length === 4 && code.every((byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0xa9)
  return printable ? String.fromCharCode(...code) : undefined
}

/** The header of the box at the start of `bytes`, when it is one; `remaining` is what is left of the file or parent box. */
const boxHeader = (bytes: Uint8Array, remaining: number): BoxHeader | undefined => {
  const type = fourCC(bytes, 4)
  if (type === undefined) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = view.getUint32(0)
  // Size 1: a 64-bit size follows the type. Size 0: the box runs to the end.
  if (size === 1) {
    const largeSize = bytes.length >= 16 ? Number(view.getBigUint64(8)) : 0
    return largeSize >= 16 ? { type, headerSize: 16, size: largeSize } : undefined
  }
  if (size === 0) return { type, headerSize: 8, size: remaining }
  return size >= 8 ? { type, headerSize: 8, size } : undefined
}

const readAt = async (file: FileHandle, offset: number, length: number): Promise<Uint8Array> => {
  const buffer = new Uint8Array(length)
  const { bytesRead } = await file.read(buffer, 0, length, offset)
  return buffer.subarray(0, bytesRead)
}

const looksLike = (head: Uint8Array): string | undefined =>
  SIGNATURES.find(({ offset, bytes }) => bytes.every((byte, i) => head[offset + i] === byte))?.name

/**
 * Walks the top-level boxes of a file by their headers (a few reads, however large the file). A
 * file is an MP4 or QuickTime file when it starts with an `ftyp` box, or with a box an old
 * QuickTime file starts with; bytes after the last whole box that are not a box are ignored.
 */
export const readTopLevel = async (file: FileHandle, fileSize: number): Promise<Movie | Foreign> => {
  const head = await readAt(file, 0, SNIFF_BYTES)
  const first = boxHeader(head, fileSize)
  if (first === undefined || (first.type !== "ftyp" && !QUICKTIME_FIRST_BOXES.has(first.type))) {
    return { _tag: "Foreign", looksLike: looksLike(head) }
  }
  const majorBrand = first.type === "ftyp" ? fourCC(head, first.headerSize) : undefined
  let movieHeader: ByteRange | undefined
  let offset = 0
  for (let count = 0; count < MAX_TOP_LEVEL_BOXES && offset + 8 <= fileSize; count++) {
    const box = boxHeader(await readAt(file, offset, SNIFF_BYTES), fileSize - offset)
    if (box === undefined) break
    if (offset + box.size > fileSize) {
      return { _tag: "Movie", majorBrand, movieHeader, cutShort: { type: box.type, missingBytes: offset + box.size - fileSize } }
    }
    if (box.type === "moov" && movieHeader === undefined) movieHeader = { offset: offset + box.headerSize, length: box.size - box.headerSize }
    offset += box.size
  }
  return { _tag: "Movie", majorBrand, movieHeader, cutShort: undefined }
}

/** Reads a run of bytes, e.g. the movie header. */
export const readRange = (file: FileHandle, range: ByteRange): Promise<Uint8Array> => readAt(file, range.offset, range.length)

/** The payloads of the boxes in `data` (a box's payload), in order. */
const children = function* (data: Uint8Array): Generator<{ readonly type: string; readonly payload: Uint8Array }> {
  let offset = 0
  while (offset + 8 <= data.length) {
    const box = boxHeader(data.subarray(offset), data.length - offset)
    if (box === undefined || offset + box.size > data.length) return
    yield { type: box.type, payload: data.subarray(offset + box.headerSize, offset + box.size) }
    offset += box.size
  }
}

/** The payload of the box reached by following `path` down from `data`, taking the first box of each type. */
const descend = (data: Uint8Array | undefined, ...path: ReadonlyArray<string>): Uint8Array | undefined =>
  path.reduce<Uint8Array | undefined>(
    (current, type) => (current === undefined ? undefined : Array.from(children(current)).find((box) => box.type === type)?.payload),
    data
  )

/**
 * What the first video track of a movie header (a `moov` payload) declares in its sample
 * description: the codec's tag and the picture size. Undefined when it has no readable video track.
 */
export const declaredVideo = (movieHeader: Uint8Array): DeclaredVideo | undefined => {
  for (const track of children(movieHeader)) {
    if (track.type !== "trak") continue
    const media = descend(track.payload, "mdia")
    // hdlr: version and flags (4), pre_defined (4), then the handler type.
    const handler = descend(media, "hdlr")
    if (handler === undefined || fourCC(handler, 8) !== "vide") continue
    // stsd: version and flags (4), entry count (4), then the entries; a visual sample entry keeps
    // its type at bytes 4 to 8 and its width and height at bytes 32 to 36.
    const entry = descend(media, "minf", "stbl", "stsd")?.subarray(8)
    if (entry === undefined || entry.length < 36) return undefined
    const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength)
    return { codecTag: fourCC(entry, 4) ?? "", width: view.getUint16(32), height: view.getUint16(34) }
  }
  return undefined
}
