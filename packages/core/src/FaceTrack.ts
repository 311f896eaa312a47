/**
 * The face-track rules, pure: which detections are usable for lip-sync, how detections in
 * successive frames become one face, which source frames must still be examined so that every
 * boundary is exact to one frame, and the final intervals with the frame that shows each face best.
 * No I/O: the pipeline decodes and detects, this module decides.
 *
 * The flow, for a video of `fps` frames per second:
 * 1. detect faces on coarse samples (e.g. 5 per second);
 * 2. {@link refinementRequests} names the source-frame ranges around every boundary;
 * 3. detect faces on every frame of those ranges, or on {@link framesToExamine} of them, and
 *    {@link refine} them into the examined frames; repeat 2 and 3 until nothing is asked for (one
 *    round when every frame is examined, normally two with `framesToExamine`);
 * 4. {@link finalise} gives the faces, ids "0", "1", ... in order of first appearance.
 *
 * What sampling can miss: a usable stretch shorter than the sampling step that lies wholly between
 * two samples where that face is not usable (e.g. under 200 ms at 5 fps). Everything between a
 * usable and a not-usable sample is examined frame by frame, so flicker there is found exactly.
 *
 * @since 0.1.0
 */
import { InvalidConfigError } from "./Config.js"

/** An angle in degrees (not radians). */
export type Degrees = number

/** A rectangle in pixels of the analysed frame (the frame given to the detector). */
export interface Box {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** One face found in one frame, as the detector reports it. */
export interface Detection {
  readonly box: Box
  /** Detector confidence, 0 to 1. */
  readonly score: number
  /**
   * Head rotation, 0 = facing the camera; NaN = unknown, which counts as not frontal. Yaw turns
   * left/right, pitch nods up/down, roll tilts in the image plane (not a rule: lip-sync models
   * align the face in-plane themselves).
   */
  readonly yaw: Degrees
  readonly pitch: Degrees
  readonly roll: Degrees
  /**
   * Identity descriptor, compared by cosine similarity. Only identity tells a cut between two
   * people at the same place from one person: compute it on refined frames too when the coarse
   * samples had it.
   */
  readonly embedding?: ReadonlyArray<number> | undefined
}

/** The faces found in one decoded source frame. */
export interface FrameDetections {
  /** The source frame's ordinal from 0 ({@link frameIndexAt} turns a presentation time into it). */
  readonly frameIndex: number
  /** Presentation time in milliseconds from the start of the video. */
  readonly timeMs: number
  /** Size of the analysed frame: the pixels the boxes are in. */
  readonly width: number
  readonly height: number
  readonly faces: ReadonlyArray<Detection>
}

/** The source video's frames. A constant frame rate is assumed: frame i is shown at i × 1000 / fps ms. */
export interface VideoTiming {
  readonly fps: number
  /** Frames in the video; the last one is `frameCount - 1`. */
  readonly frameCount: number
}

/** What makes a face usable for lip-sync and how faces are followed across frames. */
export interface TrackRules {
  /** Smallest usable face: box height over frame height. */
  readonly minFaceHeightRatio: number
  /** Largest usable head turn, left or right. */
  readonly maxYawDegrees: Degrees
  /** Largest usable nod, up or down. */
  readonly maxPitchDegrees: Degrees
  /** Lowest usable detector confidence. */
  readonly minScore: number
  /** A face away (not usable) for longer than this comes back as a new face; shorter gaps are bridged. */
  readonly maxGapMs: number
  /** Faces usable for less than this are left out. */
  readonly minIntervalMs: number
  /** How far a face may move between examined frames, in face heights per second (matching without identity). */
  readonly maxFaceShiftPerSecond: number
  /** Least cosine similarity of two embeddings of one person (matching with identity). */
  readonly minEmbeddingSimilarity: number
}

/**
 * The defaults.
 * - `minFaceHeightRatio` 0.08: 58 px of face at 720p, 86 px at 1080p, where the mouth still spans
 *   about 15 to 20 px; the smallest a lip-sync model (96 to 256 px face crops) redraws without
 *   visibly upscaling. Smaller faces are background people.
 * - `maxYawDegrees` 35, `maxPitchDegrees` 30: beyond that the far half of the mouth is hidden or
 *   foreshortened and the redrawn lips no longer fit the face.
 * - `minScore` 0.6: above the detector's own 0.5 cut, so a blurred or half-hidden face still keeps
 *   its track but does not count as usable.
 * - `maxGapMs` 1000, `minIntervalMs` 2000: API.md (lip-sync needs 2 s of overlap).
 * - `maxFaceShiftPerSecond` 2: a talking head moves well under a face height per second; two
 *   people side by side are about two face heights apart.
 * - `minEmbeddingSimilarity` 0.75: for FaceRes descriptors (`@vladmandic/human`) of the test photos,
 *   different people scored at most 0.67 and one face, re-cropped or rescaled, at least 0.95.
 */
export const defaultRules: TrackRules = {
  minFaceHeightRatio: 0.08,
  maxYawDegrees: 35,
  maxPitchDegrees: 30,
  minScore: 0.6,
  maxGapMs: 1000,
  minIntervalMs: 2000,
  maxFaceShiftPerSecond: 2,
  minEmbeddingSimilarity: 0.75
}

const checkRange = (name: string, value: number, min: number, max = Number.POSITIVE_INFINITY) => {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    const range = max === Number.POSITIVE_INFINITY ? `a finite number from ${min}` : `from ${min} to ${max}`
    throw new InvalidConfigError(`identify-face: ${name} must be ${range}, got ${String(value)}`)
  }
}

/**
 * The default rules with `overrides` applied, checked. Throws `Config.InvalidConfigError` naming
 * the rule on a wrong value.
 */
export const makeRules = (overrides: Partial<TrackRules> = {}): TrackRules => {
  const rules: TrackRules = { ...defaultRules, ...overrides }
  checkRange("minFaceHeightRatio", rules.minFaceHeightRatio, 0, 1)
  checkRange("maxYawDegrees", rules.maxYawDegrees, 0, 90)
  checkRange("maxPitchDegrees", rules.maxPitchDegrees, 0, 90)
  checkRange("minScore", rules.minScore, 0, 1)
  checkRange("maxGapMs", rules.maxGapMs, 0)
  checkRange("minIntervalMs", rules.minIntervalMs, 0)
  checkRange("maxFaceShiftPerSecond", rules.maxFaceShiftPerSecond, 0)
  checkRange("minEmbeddingSimilarity", rules.minEmbeddingSimilarity, -1, 1)
  return rules
}

// Timestamps carry rounding from the stream's time base; a frame is at least ~8 ms, so half a
// millisecond never confuses two frames.
const TIME_TOLERANCE_MS = 0.5
// Float noise (4999.999999...) must not cost a whole millisecond when rounding to integers.
const FLOAT_NOISE_MS = 1e-6
// Matching without identity: jitter allowed between adjacent frames, in face heights, and the
// largest change of size.
const JITTER_FACE_HEIGHTS = 0.5
const MAX_SCALE_CHANGE = 1.5

const frameDurationMs = (video: VideoTiming): number => {
  if (!(video.fps > 0 && Number.isFinite(video.fps)) || !(Number.isSafeInteger(video.frameCount) && video.frameCount > 0)) {
    throw new RangeError(`identify-face: invalid video timing ${String(video.fps)} fps, ${String(video.frameCount)} frames`)
  }
  return 1000 / video.fps
}

/** The ordinal of the source frame shown at `timeMs` (a decoded frame's presentation time). */
export const frameIndexAt = (video: VideoTiming, timeMs: number): number => Math.round((timeMs * video.fps) / 1000)

/** Whether a detection is usable for lip-sync: large enough, frontal enough and confident. Limits are inclusive. */
export const isUsable = (detection: Detection, frame: { readonly height: number }, rules: TrackRules = defaultRules): boolean =>
  detection.score >= rules.minScore &&
  detection.box.height >= rules.minFaceHeightRatio * frame.height &&
  // NaN fails both comparisons: an unknown rotation is not frontal.
  Math.abs(detection.yaw) <= rules.maxYawDegrees &&
  Math.abs(detection.pitch) <= rules.maxPitchDegrees

const radians = (degrees: Degrees) => (degrees * Math.PI) / 180

/**
 * How well a detection shows its face, for the screenshot: (box height / frame height) × score ×
 * cos(yaw) × cos(pitch). Larger, more confident (usually sharper) and more frontal is better.
 */
export const quality = (detection: Detection, frame: { readonly height: number }): number =>
  (detection.box.height / frame.height) * detection.score * Math.cos(radians(detection.yaw)) * Math.cos(radians(detection.pitch))

/** One detection of a followed face, with the frame it is in. */
export interface Observation {
  readonly frame: FrameDetections
  readonly detection: Detection
  readonly usable: boolean
}

/** One face followed across the examined frames: its detections in frame order, usable or not. */
export interface Track {
  readonly observations: ReadonlyArray<Observation>
}

interface OpenTrack {
  readonly observations: Array<Observation>
  /** Where its latest detection's frame is among the examined frames. */
  lastPosition: number
  /** The embedding of the latest usable detection: turned or tiny faces give unreliable ones. */
  identity: ReadonlyArray<number> | undefined
}

const cosineSimilarity = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let normA = 0
  let normB = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    dot += x * y
    normA += x * x
    normB += y * y
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB)
}

// Box centre and height in frame heights, so frames analysed at different sizes compare.
const placement = (box: Box, frame: FrameDetections) => ({
  x: (box.x + box.width / 2) / frame.height,
  y: (box.y + box.height / 2) / frame.height,
  height: box.height / frame.height
})

/**
 * How well `candidate` continues `track` (higher is better), or undefined when it cannot. With
 * identity on both sides (usable detections with embeddings) identity decides and position only
 * ranks; without, the face must not have moved or changed size more than a face plausibly can.
 */
const continuation = (track: OpenTrack, candidate: Observation, rules: TrackRules): number | undefined => {
  const last = track.observations[track.observations.length - 1]
  if (last === undefined) return undefined
  const before = placement(last.detection.box, last.frame)
  const now = placement(candidate.detection.box, candidate.frame)
  const faceHeight = Math.max(before.height, now.height, Number.EPSILON)
  const shift = Math.hypot(now.x - before.x, now.y - before.y) / faceHeight
  const closeness = 1 / (1 + shift)
  const embedding = candidate.usable ? candidate.detection.embedding : undefined
  if (track.identity !== undefined && embedding !== undefined) {
    const similarity = cosineSimilarity(track.identity, embedding)
    return similarity >= rules.minEmbeddingSimilarity ? similarity + closeness : undefined
  }
  const seconds = (candidate.frame.timeMs - last.frame.timeMs) / 1000
  const reach = JITTER_FACE_HEIGHTS + rules.maxFaceShiftPerSecond * seconds
  const scale = Math.max(before.height, now.height) / Math.max(Math.min(before.height, now.height), Number.EPSILON)
  return shift <= reach && scale <= MAX_SCALE_CHANGE ? closeness : undefined
}

const extend = (track: OpenTrack, observation: Observation, position: number) => {
  track.observations.push(observation)
  track.lastPosition = position
  if (observation.usable && observation.detection.embedding !== undefined) track.identity = observation.detection.embedding
}

// In frame order, one entry per source frame: the first given wins.
const inFrameOrder = (frames: ReadonlyArray<FrameDetections>): ReadonlyArray<FrameDetections> => {
  const byIndex = new Map<number, FrameDetections>()
  for (const frame of frames) if (!byIndex.has(frame.frameIndex)) byIndex.set(frame.frameIndex, frame)
  return [...byIndex.values()].sort((a, b) => a.frameIndex - b.frameIndex)
}

/**
 * Follows faces across the examined frames: in every frame, the best-fitting (track, detection)
 * pairs are matched greedily, the rest of the detections start new tracks. A track is not
 * continued once its face has surely been away longer than `maxGapMs` (it would come back as a new
 * face anyway): from the examined frame after its latest detection to the one before this frame.
 * Unexamined frames in between may still hold it, so sparse samples keep a track open longer.
 */
export const tracks = (frames: ReadonlyArray<FrameDetections>, video: VideoTiming, rules: TrackRules = defaultRules): ReadonlyArray<Track> => {
  const durationMs = frameDurationMs(video)
  const ordered = inFrameOrder(frames)
  const all: Array<OpenTrack> = []
  let open: Array<OpenTrack> = []
  ordered.forEach((frame, position) => {
    const previous = ordered[position - 1] ?? frame
    open = open.filter((track) => {
      const surelyAwayFrom = ordered[track.lastPosition + 1] ?? frame
      return previous.timeMs + durationMs - surelyAwayFrom.timeMs <= rules.maxGapMs + TIME_TOLERANCE_MS
    })
    const candidates = frame.faces.map((detection): Observation => ({ frame, detection, usable: isUsable(detection, frame, rules) }))
    const pairs = open.flatMap((track) =>
      candidates.flatMap((candidate) => {
        const fit = continuation(track, candidate, rules)
        return fit === undefined ? [] : [{ track, candidate, fit }]
      })
    )
    pairs.sort((a, b) => b.fit - a.fit)
    const matchedTracks = new Set<OpenTrack>()
    const matchedCandidates = new Set<Observation>()
    for (const { track, candidate } of pairs) {
      if (matchedTracks.has(track) || matchedCandidates.has(candidate)) continue
      matchedTracks.add(track)
      matchedCandidates.add(candidate)
      extend(track, candidate, position)
    }
    for (const candidate of candidates) {
      if (matchedCandidates.has(candidate)) continue
      const track: OpenTrack = { observations: [], lastPosition: position, identity: undefined }
      extend(track, candidate, position)
      all.push(track)
      open.push(track)
    }
  })
  return all
}

/** A run of usable detections of one track with no gap over `maxGapMs`. */
interface Stretch {
  readonly first: Observation
  last: Observation
  readonly observations: Array<Observation>
}

/**
 * A track's usable detections, split where the face is away longer than `maxGapMs`: from the end of
 * one usable frame (its time plus one frame) to the start of the next. Between examined frames the
 * face is taken to be away, so on coarse samples this is the longest the gap can be.
 */
const usableStretches = (track: Track, durationMs: number, rules: TrackRules): Array<Stretch> => {
  const stretches: Array<Stretch> = []
  for (const observation of track.observations) {
    if (!observation.usable) continue
    const current = stretches[stretches.length - 1]
    if (current !== undefined && observation.frame.timeMs - current.last.frame.timeMs - durationMs <= rules.maxGapMs + TIME_TOLERANCE_MS) {
      current.observations.push(observation)
      current.last = observation
    } else {
      stretches.push({ first: observation, last: observation, observations: [observation] })
    }
  }
  return stretches
}

/** Source frames to detect faces on, every one of them, to place a boundary to one frame. */
export interface RefinementRequest {
  /** First and last source frame, inclusive. */
  readonly fromFrame: number
  readonly toFrame: number
  /** The same frames as a time window [startMs, endMs), with half a frame of margin for timestamp jitter. */
  readonly startMs: number
  readonly endMs: number
  /** Why, for logs. */
  readonly reason: string
}

/** The examined frames in order, and each one's neighbours among them. */
interface ExaminedFrames {
  readonly frames: ReadonlyArray<FrameDetections>
  readonly before: (frame: FrameDetections) => FrameDetections | undefined
  readonly after: (frame: FrameDetections) => FrameDetections | undefined
}

const examine = (frames: ReadonlyArray<FrameDetections>): ExaminedFrames => {
  const ordered = inFrameOrder(frames)
  const positionOf = new Map(ordered.map((frame, position) => [frame, position]))
  return {
    frames: ordered,
    before: (frame) => ordered[(positionOf.get(frame) ?? 0) - 1],
    after: (frame) => ordered[(positionOf.get(frame) ?? ordered.length) + 1]
  }
}

interface Boundary {
  readonly fromFrame: number
  readonly toFrame: number
  readonly reason: string
}

/**
 * The unexamined frames on both sides of each usable stretch: between its first usable frame and
 * the examined frame before, and between its last usable frame and the examined frame after (or
 * the ends of the video). Stretches that would be too short even if every unexamined frame around
 * them were usable are dropped in any case and ask for nothing; gaps between samples that are
 * bridged even if the face were away throughout ask for nothing either.
 */
const boundariesOf = (
  trackNumber: number,
  stretches: ReadonlyArray<Stretch>,
  examined: ExaminedFrames,
  video: VideoTiming,
  rules: TrackRules
): Array<Boundary> => {
  const durationMs = frameDurationMs(video)
  // Stretches that could still join (their shortest possible gap is bridged) count as one for length.
  const groups: Array<{ readonly earliestStartMs: number; latestEndMs: number; readonly members: Array<Stretch> }> = []
  for (const stretch of stretches) {
    const before = examined.before(stretch.first.frame)
    const after = examined.after(stretch.last.frame)
    const earliestStartMs = before === undefined ? 0 : before.timeMs + durationMs
    const latestEndMs = after === undefined ? video.frameCount * durationMs : after.timeMs
    const group = groups[groups.length - 1]
    if (group !== undefined && earliestStartMs - group.latestEndMs <= rules.maxGapMs + TIME_TOLERANCE_MS) {
      group.members.push(stretch)
      group.latestEndMs = latestEndMs
    } else {
      groups.push({ earliestStartMs, latestEndMs, members: [stretch] })
    }
  }
  return groups
    .filter((group) => group.latestEndMs - group.earliestStartMs >= rules.minIntervalMs - TIME_TOLERANCE_MS)
    .flatMap((group) =>
      group.members.flatMap(({ first, last }) => {
        const before = examined.before(first.frame)
        const after = examined.after(last.frame)
        return [
          {
            fromFrame: before === undefined ? 0 : before.frameIndex + 1,
            toFrame: first.frame.frameIndex - 1,
            reason: `track ${trackNumber} is usable at frame ${first.frame.frameIndex}${before === undefined ? "" : ` but not at ${before.frameIndex}`}`
          },
          {
            fromFrame: last.frame.frameIndex + 1,
            toFrame: after === undefined ? video.frameCount - 1 : after.frameIndex - 1,
            reason: `track ${trackNumber} is usable at frame ${last.frame.frameIndex}${after === undefined ? "" : ` but not at ${after.frameIndex}`}`
          }
        ]
      })
    )
    .filter((boundary) => boundary.fromFrame <= boundary.toFrame)
}

/**
 * The source-frame ranges to examine frame by frame so that every boundary is exact to one frame:
 * at both ends of every usable stretch of every face, between the last sample where it is usable
 * and the first where it is not (so also on both sides of gaps that may exceed `maxGapMs`). In
 * frame order, not overlapping; empty once every boundary is exact.
 */
export const refinementRequests = (
  frames: ReadonlyArray<FrameDetections>,
  video: VideoTiming,
  rules: TrackRules = defaultRules
): Array<RefinementRequest> => {
  const durationMs = frameDurationMs(video)
  const examined = examine(frames)
  const byStart = new Map<number, Boundary>()
  tracks(examined.frames, video, rules).forEach((track, trackNumber) => {
    for (const boundary of boundariesOf(trackNumber, usableStretches(track, durationMs, rules), examined, video, rules)) {
      // Ranges lie between two neighbouring examined frames, so two of them are equal or apart.
      const known = byStart.get(boundary.fromFrame)
      byStart.set(boundary.fromFrame, known === undefined ? boundary : { ...known, reason: `${known.reason}; ${boundary.reason}` })
    }
  })
  return [...byStart.values()]
    .sort((a, b) => a.fromFrame - b.fromFrame)
    .map((boundary) => ({
      ...boundary,
      startMs: Math.max(0, (boundary.fromFrame - 0.5) * durationMs),
      endMs: (boundary.toFrame + 0.5) * durationMs
    }))
}

/**
 * The frames of a request to examine in this round: every `step`-th one, the step near the square
 * root of its length, so the round finds between which two of them the boundary lies and the next
 * round's request is only that stretch: about 2√n detections in two rounds instead of n in one
 * (5 instead of 11 between samples at 2.5 fps of a 30 fps video). Requests of up to 3 frames are
 * examined whole. This assumes what the rules cannot see on samples anyway, at most one change
 * of a face within a request; shots of one step or longer (see `refinementRequests`) keep it.
 */
export const framesToExamine = (request: Pick<RefinementRequest, "fromFrame" | "toFrame">): Array<number> => {
  const length = request.toFrame - request.fromFrame + 1
  const step = length <= 3 ? 1 : Math.round(Math.sqrt(length + 1))
  const frames: Array<number> = []
  for (let frame = request.fromFrame + step - 1; frame <= request.toFrame; frame += step) frames.push(frame)
  return frames
}

/** The examined frames with `refinedFrames` added: in frame order, one entry per source frame (the first given wins). */
export const refine = (
  frames: ReadonlyArray<FrameDetections>,
  refinedFrames: ReadonlyArray<FrameDetections>
): ReadonlyArray<FrameDetections> => inFrameOrder([...frames, ...refinedFrames])

/** The frame to take a face's screenshot from, in the analysed frame's pixels: scale the box to the full frame. */
export interface BestFrame {
  readonly frameIndex: number
  readonly timeMs: number
  readonly box: Box
  /** Size of the analysed frame the box is in. */
  readonly frameWidth: number
  readonly frameHeight: number
  /** See {@link quality}. */
  readonly quality: number
}

/** One continuous, usable appearance of a face. */
export interface FaceInterval {
  /** "0", "1", ... in order of first appearance. */
  readonly faceId: string
  /** Time of the first usable frame, in whole milliseconds rounded down. */
  readonly startMs: number
  /** End of the last usable frame (its time plus one frame), in whole milliseconds rounded up. */
  readonly endMs: number
  /** First and last usable source frame. */
  readonly firstFrame: number
  readonly lastFrame: number
  /** The usable detection with the highest {@link quality}; the earliest on a tie. */
  readonly bestFrame: BestFrame
}

/**
 * The usable faces in the examined frames: each track's usable stretches, gaps over `maxGapMs`
 * split, stretches shorter than `minIntervalMs` left out. Ordered by first usable frame, then left
 * to right; ids "0", "1", ... in that order.
 */
export const finalise = (frames: ReadonlyArray<FrameDetections>, video: VideoTiming, rules: TrackRules = defaultRules): Array<FaceInterval> => {
  const durationMs = frameDurationMs(video)
  const intervals = tracks(frames, video, rules).flatMap((track) =>
    usableStretches(track, durationMs, rules).flatMap(({ first, last, observations }) => {
      const endMs = last.frame.timeMs + durationMs
      if (endMs - first.frame.timeMs < rules.minIntervalMs - TIME_TOLERANCE_MS) return []
      const best = observations.reduce((winner, observation) =>
        quality(observation.detection, observation.frame) > quality(winner.detection, winner.frame) ? observation : winner
      )
      return [{
        startMs: Math.floor(first.frame.timeMs + FLOAT_NOISE_MS),
        endMs: Math.ceil(endMs - FLOAT_NOISE_MS),
        firstFrame: first.frame.frameIndex,
        lastFrame: last.frame.frameIndex,
        left: first.detection.box.x / first.frame.width,
        bestFrame: {
          frameIndex: best.frame.frameIndex,
          timeMs: best.frame.timeMs,
          box: best.detection.box,
          frameWidth: best.frame.width,
          frameHeight: best.frame.height,
          quality: quality(best.detection, best.frame)
        }
      }]
    })
  )
  return intervals
    .sort((a, b) => a.firstFrame - b.firstFrame || a.left - b.left)
    .map(({ left: _left, ...interval }, index) => ({ faceId: String(index), ...interval }))
}
