import { describe, expect, it } from "@effect/vitest"
import { InvalidConfigError } from "../src/Config.js"
import * as FaceTrack from "../src/FaceTrack.js"

// A simulated 30 fps video analysed at 640x360: a ground truth says, for every source frame, which
// people are where; the simulator answers coarse samples and refinement requests from it.
const FPS = 30
const WIDTH = 640
const HEIGHT = 360
const FRAME_MS = 1000 / FPS

interface Person {
  readonly person: number
  readonly detection: FaceTrack.Detection
}

type GroundTruth = (frameIndex: number) => ReadonlyArray<Person>

const videoOf = (seconds: number): FaceTrack.VideoTiming => ({ fps: FPS, frameCount: Math.round(seconds * FPS) })

const range = (from: number, to: number): Array<number> => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

/** A face of height `size` (frame heights) centred at (`x`, 0.4) of the frame, facing the camera. */
const face = (x: number, options: Partial<Omit<FaceTrack.Detection, "box">> & { readonly size?: number } = {}): FaceTrack.Detection => {
  const { size = 0.25, ...rest } = options
  const height = size * HEIGHT
  return {
    box: { x: x * WIDTH - height / 2, y: 0.4 * HEIGHT - height / 2, width: height, height },
    score: 0.95,
    yaw: 0,
    pitch: 0,
    roll: 0,
    ...rest
  }
}

/** A unit embedding for person `person`: its own axis, plus a little per-frame noise. */
const embeddingOf = (person: number, frameIndex = 0): Array<number> => {
  const vector = range(0, 7).map((axis) => (axis === person ? 1 : 0) + 0.05 * Math.sin(frameIndex * (axis + 1.3) + person))
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

const frameAt = (truth: GroundTruth, frameIndex: number): FaceTrack.FrameDetections => ({
  frameIndex,
  timeMs: frameIndex * FRAME_MS,
  width: WIDTH,
  height: HEIGHT,
  faces: truth(frameIndex).map(({ detection }) => detection)
})

/** The first frame of every 1/sampleFps-second slot, as the frame decoder samples. */
const coarseFrames = (truth: GroundTruth, video: FaceTrack.VideoTiming, sampleFps: number): Array<FaceTrack.FrameDetections> =>
  range(0, video.frameCount - 1)
    .filter((i) => i === 0 || Math.floor((i * sampleFps) / FPS + 1e-9) > Math.floor(((i - 1) * sampleFps) / FPS + 1e-9))
    .map((i) => frameAt(truth, i))

/** Coarse samples, one round of refinement from the ground truth, the faces; and what a second round would ask for. */
const analyse = (truth: GroundTruth, video: FaceTrack.VideoTiming, sampleFps: number, rules = FaceTrack.defaultRules) => {
  const coarse = coarseFrames(truth, video, sampleFps)
  const requests = FaceTrack.refinementRequests(coarse, video, rules)
  for (const request of requests) {
    // The time window holds exactly the requested frames.
    const inWindow = range(0, video.frameCount - 1).filter((i) => i * FRAME_MS >= request.startMs && i * FRAME_MS < request.endMs)
    expect(inWindow).toEqual(range(request.fromFrame, request.toFrame))
  }
  const refined = requests.flatMap((request) => range(request.fromFrame, request.toFrame).map((i) => frameAt(truth, i)))
  const frames = FaceTrack.refine(coarse, refined)
  return {
    requests,
    examined: frames.length,
    faces: FaceTrack.finalise(frames, video, rules),
    secondRound: FaceTrack.refinementRequests(frames, video, rules)
  }
}

/** Coarse samples, then rounds of refinement on `framesToExamine` of each request until nothing is asked for. */
const analyseInSteps = (truth: GroundTruth, video: FaceTrack.VideoTiming, sampleFps: number, rules = FaceTrack.defaultRules) => {
  let frames: ReadonlyArray<FaceTrack.FrameDetections> = coarseFrames(truth, video, sampleFps)
  let rounds = 0
  for (let requests = FaceTrack.refinementRequests(frames, video, rules); requests.length > 0; requests = FaceTrack.refinementRequests(frames, video, rules)) {
    rounds += 1
    frames = FaceTrack.refine(frames, requests.flatMap((request) => FaceTrack.framesToExamine(request).map((i) => frameAt(truth, i))))
  }
  return { rounds, examined: frames.length, faces: FaceTrack.finalise(frames, video, rules) }
}

/** The spec applied to every frame of the ground truth: what exact analysis must give. */
const expectedFaces = (truth: GroundTruth, video: FaceTrack.VideoTiming, rules = FaceTrack.defaultRules) => {
  const usableFrames = new Map<number, Array<{ readonly frameIndex: number; readonly left: number }>>()
  for (const frameIndex of range(0, video.frameCount - 1)) {
    for (const { person, detection } of truth(frameIndex)) {
      if (!FaceTrack.isUsable(detection, { height: HEIGHT }, rules)) continue
      usableFrames.set(person, [...(usableFrames.get(person) ?? []), { frameIndex, left: detection.box.x }])
    }
  }
  const intervals = [...usableFrames.values()].flatMap((frames) => {
    const stretches: Array<typeof frames> = []
    for (const frame of frames) {
      const stretch = stretches[stretches.length - 1]
      const previous = stretch?.[stretch.length - 1]
      // Away: from the end of one usable frame to the start of the next.
      if (stretch !== undefined && previous !== undefined && (frame.frameIndex - previous.frameIndex - 1) * FRAME_MS <= rules.maxGapMs + 1e-6) {
        stretch.push(frame)
      } else {
        stretches.push([frame])
      }
    }
    return stretches.flatMap((stretch) => {
      const first = stretch[0]!
      const last = stretch[stretch.length - 1]!
      if ((last.frameIndex + 1 - first.frameIndex) * FRAME_MS < rules.minIntervalMs - 1e-6) return []
      return [{ firstFrame: first.frameIndex, lastFrame: last.frameIndex, left: first.left }]
    })
  })
  return intervals
    .sort((a, b) => a.firstFrame - b.firstFrame || a.left - b.left)
    .map(({ firstFrame, lastFrame }, index) => ({
      faceId: String(index),
      startMs: Math.floor(firstFrame * FRAME_MS + 1e-6),
      endMs: Math.ceil((lastFrame + 1) * FRAME_MS - 1e-6),
      firstFrame,
      lastFrame
    }))
}

const summary = (faces: ReadonlyArray<FaceTrack.FaceInterval>) =>
  faces.map(({ faceId, startMs, endMs, firstFrame, lastFrame }) => ({ faceId, startMs, endMs, firstFrame, lastFrame }))

/** Analyses at every rate and checks the answer equals the spec applied to every frame. */
const expectExactAtEveryRate = (truth: GroundTruth, video: FaceTrack.VideoTiming, rates = [2, 3, 4, 5, 10]) => {
  const expected = expectedFaces(truth, video)
  for (const rate of rates) {
    const result = analyse(truth, video, rate)
    expect({ rate, faces: summary(result.faces) }).toEqual({ rate, faces: expected })
    expect(result.secondRound).toEqual([])
  }
  return expected
}

const only = (person: number, from: number, to: number, detection: (i: number) => FaceTrack.Detection): GroundTruth => (i) =>
  i >= from && i <= to ? [{ person, detection: detection(i) }] : []

const together = (...truths: ReadonlyArray<GroundTruth>): GroundTruth => (i) => truths.flatMap((truth) => truth(i))

describe("FaceTrack", () => {
  describe("rules", () => {
    it("has the documented defaults and checks overrides", () => {
      expect(FaceTrack.makeRules()).toEqual(FaceTrack.defaultRules)
      expect(FaceTrack.makeRules({ maxGapMs: 500 }).maxGapMs).toBe(500)
      expect(() => FaceTrack.makeRules({ minFaceHeightRatio: 1.5 })).toThrow(/minFaceHeightRatio must be from 0 to 1/)
      expect(() => FaceTrack.makeRules({ maxYawDegrees: Number.NaN })).toThrow(InvalidConfigError)
      expect(() => FaceTrack.makeRules({ minIntervalMs: -1 })).toThrow(/minIntervalMs must be a finite number from 0/)
      expect(() => FaceTrack.makeRules({ maxGapMs: Number.POSITIVE_INFINITY })).toThrow(/maxGapMs/)
    })

    it("calls a detection usable when large, frontal and confident enough, limits included", () => {
      const frame = { height: HEIGHT }
      expect(FaceTrack.isUsable(face(0.5), frame)).toBe(true)
      expect(FaceTrack.isUsable(face(0.5, { size: 0.08 }), frame)).toBe(true)
      expect(FaceTrack.isUsable(face(0.5, { size: 0.079 }), frame)).toBe(false)
      expect(FaceTrack.isUsable(face(0.5, { yaw: -35 }), frame)).toBe(true)
      expect(FaceTrack.isUsable(face(0.5, { yaw: 35.1 }), frame)).toBe(false)
      expect(FaceTrack.isUsable(face(0.5, { pitch: 31 }), frame)).toBe(false)
      expect(FaceTrack.isUsable(face(0.5, { roll: 80 }), frame)).toBe(true)
      expect(FaceTrack.isUsable(face(0.5, { score: 0.59 }), frame)).toBe(false)
      expect(FaceTrack.isUsable(face(0.5, { yaw: Number.NaN }), frame)).toBe(false)
    })

    it("maps presentation times to source frames and refuses a wrong video timing", () => {
      expect(FaceTrack.frameIndexAt({ fps: 29.97, frameCount: 300 }, 5005.0001)).toBe(150)
      expect(FaceTrack.frameIndexAt(videoOf(10), 33.3)).toBe(1)
      expect(() => FaceTrack.finalise([], { fps: 0, frameCount: 10 })).toThrow(RangeError)
      expect(() => FaceTrack.refinementRequests([], { fps: 30, frameCount: 1.5 })).toThrow(RangeError)
    })
  })

  describe("intervals", () => {
    it("one steady face, present from frame 0 to the last frame", () => {
      const video = videoOf(10)
      const truth = only(0, 0, 299, () => face(0.5, { embedding: embeddingOf(0) }))
      const result = analyse(truth, video, 5)
      expect(summary(result.faces)).toEqual([{ faceId: "0", startMs: 0, endMs: 10000, firstFrame: 0, lastFrame: 299 }])
      // Only the frames after the last sample are left to look at.
      expect(result.requests.map(({ fromFrame, toFrame }) => [fromFrame, toFrame])).toEqual([[295, 299]])
    })

    it("two faces side by side, without embeddings, ordered by first appearance", () => {
      const video = videoOf(10)
      const truth = together(
        only(0, 70, 280, (i) => face(0.3 + 0.0005 * i)),
        only(1, 0, 299, (i) => face(0.7 - 0.0005 * i, { size: 0.2 }))
      )
      expect(expectExactAtEveryRate(truth, video)).toEqual([
        { faceId: "0", startMs: 0, endMs: 10000, firstFrame: 0, lastFrame: 299 },
        { faceId: "1", startMs: 2333, endMs: 9367, firstFrame: 70, lastFrame: 280 }
      ])
    })

    it("two faces appearing in the same frame are numbered left to right", () => {
      const truth = together(only(0, 10, 200, () => face(0.75)), only(1, 10, 200, () => face(0.25)))
      const faces = analyse(truth, videoOf(8), 5).faces
      expect(faces.map(({ faceId, bestFrame }) => [faceId, bestFrame.box.x < WIDTH / 2])).toEqual([["0", true], ["1", false]])
    })

    it("a hard cut between two people at the same place gives two faces when embeddings differ", () => {
      const truth: GroundTruth = (i) => [{ person: i < 143 ? 0 : 1, detection: face(0.5, { embedding: embeddingOf(i < 143 ? 0 : 1, i) }) }]
      expect(expectExactAtEveryRate(truth, videoOf(10))).toEqual([
        { faceId: "0", startMs: 0, endMs: 4767, firstFrame: 0, lastFrame: 142 },
        { faceId: "1", startMs: 4766, endMs: 10000, firstFrame: 143, lastFrame: 299 }
      ])
    })

    it("two people crossing keep their ids when embeddings are known", () => {
      // They swap places within 2 s; at the crossing their boxes overlap.
      const x = (person: number, i: number) => (person === 0 ? 0.2 : 0.8) + (person === 0 ? 1 : -1) * 0.6 * Math.min(1, Math.max(0, (i - 90) / 60))
      const truth = together(
        only(0, 0, 299, (i) => face(x(0, i), { embedding: embeddingOf(0, i) })),
        only(1, 0, 239, (i) => face(x(1, i), { embedding: embeddingOf(1, i) }))
      )
      expect(expectExactAtEveryRate(truth, videoOf(10))).toEqual([
        { faceId: "0", startMs: 0, endMs: 10000, firstFrame: 0, lastFrame: 299 },
        { faceId: "1", startMs: 0, endMs: 8000, firstFrame: 0, lastFrame: 239 }
      ])
    })

    it("bridges a gap of 900 ms and of exactly 1000 ms, splits one of 1100 ms and of 1033 ms (one frame more)", () => {
      const video = videoOf(12)
      const away = (awayFrames: number): GroundTruth => (i) => (i >= 120 && i < 120 + awayFrames ? [] : [{ person: 0, detection: face(0.5) }])
      const one = [{ faceId: "0", startMs: 0, endMs: 12000, firstFrame: 0, lastFrame: 359 }]
      expect(expectExactAtEveryRate(away(27), video)).toEqual(one)
      expect(expectExactAtEveryRate(away(30), video)).toEqual(one)
      const split = (awayFrames: number) => [
        { faceId: "0", startMs: 0, endMs: 4000, firstFrame: 0, lastFrame: 119 },
        { faceId: "1", startMs: Math.floor((120 + awayFrames) * FRAME_MS), endMs: 12000, firstFrame: 120 + awayFrames, lastFrame: 359 }
      ]
      expect(expectExactAtEveryRate(away(31), video)).toEqual(split(31))
      expect(expectExactAtEveryRate(away(33), video)).toEqual(split(33))
    })

    it("a face turning away mid-clip ends its interval at the last frame within maxYawDegrees", () => {
      // Yaw grows 0.5 degrees a frame from frame 100: 35 at frame 170, 35.5 at 171.
      const truth = only(0, 0, 299, (i) => face(0.5, { yaw: Math.max(0, i - 100) / 2 }))
      expect(expectExactAtEveryRate(truth, videoOf(10))).toEqual([{ faceId: "0", startMs: 0, endMs: 5700, firstFrame: 0, lastFrame: 170 }])
    })

    it("a face shrinking below minFaceHeightRatio ends its interval", () => {
      // Height falls by 0.001 of the frame a frame: below 0.08 after frame 120.
      const truth = only(0, 0, 299, (i) => face(0.5, { size: 0.2005 - 0.001 * i }))
      expect(expectExactAtEveryRate(truth, videoOf(10))).toEqual([{ faceId: "0", startMs: 0, endMs: 4034, firstFrame: 0, lastFrame: 120 }])
    })

    it("leaves out an interval under minIntervalMs and keeps one of exactly 2000 ms", () => {
      const video = videoOf(8)
      expect(expectExactAtEveryRate(only(0, 45, 103, () => face(0.5)), video)).toEqual([])
      expect(expectExactAtEveryRate(only(0, 45, 104, () => face(0.5)), video)).toEqual([
        { faceId: "0", startMs: 1500, endMs: 3500, firstFrame: 45, lastFrame: 104 }
      ])
    })

    it("no face at all is an empty answer with nothing to refine", () => {
      const result = analyse(() => [], videoOf(5), 5)
      expect(result.faces).toEqual([])
      expect(result.requests).toEqual([])
    })

    it("rates a detection by size x score x frontality", () => {
      expect(FaceTrack.quality(face(0.5, { size: 0.2, yaw: 60, pitch: -60 }), { height: HEIGHT })).toBeCloseTo(0.2 * 0.95 * 0.5 * 0.5, 10)
      // Twice the size outweighs a 30 degree turn.
      const turnedLarge = FaceTrack.quality(face(0.5, { size: 0.4, yaw: 30 }), { height: HEIGHT })
      expect(turnedLarge).toBeGreaterThan(FaceTrack.quality(face(0.5, { size: 0.2 }), { height: HEIGHT }))
    })

    it("takes the screenshot from the best usable frame", () => {
      // Frontal at frame 120, turning away on both sides; at frame 250 large but turned too far.
      const detectionAt = (i: number) => face(0.5, { size: i === 250 ? 0.6 : 0.2, yaw: Math.abs(i - 120) / 4, score: 0.9 })
      const faces = FaceTrack.finalise(coarseFrames(only(0, 0, 299, detectionAt), videoOf(10), 10), videoOf(10))
      const best = faces[0]?.bestFrame
      expect(best?.frameIndex).toBe(120)
      expect(best?.timeMs).toBeCloseTo(4000, 6)
      expect(best?.box).toEqual(detectionAt(120).box)
      expect(best?.quality).toBeCloseTo(0.2 * 0.9, 10)
      expect([best?.frameWidth, best?.frameHeight]).toEqual([WIDTH, HEIGHT])
    })
  })

  describe("refinement", () => {
    it("asks for the frames between the last usable and the first unusable sample, at both ends", () => {
      const requests = FaceTrack.refinementRequests(coarseFrames(only(0, 40, 200, () => face(0.5)), videoOf(10), 5), videoOf(10))
      expect(requests.map(({ fromFrame, toFrame }) => [fromFrame, toFrame])).toEqual([[37, 41], [199, 203]])
      expect(requests[0]?.reason).toBe("track 0 is usable at frame 42 but not at 36")
    })

    it("asks nothing for a gap bridged even if the face were away throughout, nor for a face too short in any case", () => {
      const video = videoOf(10)
      // Away frames 100 to 125: the usable samples around it, 96 and 126, are 30 frames apart, so
      // the face is away 967 ms at most.
      const gap = only(0, 0, 299, () => face(0.5))
      const withGap: GroundTruth = (i) => (i >= 100 && i <= 125 ? [] : gap(i))
      expect(FaceTrack.refinementRequests(coarseFrames(withGap, video, 5), video).map((r) => r.fromFrame)).toEqual([295])
      // Usable at samples 42 to 66, not at 36 and 72: at most frames 37 to 71, 1167 ms.
      const brief = only(0, 40, 70, () => face(0.5))
      expect(FaceTrack.refinementRequests(coarseFrames(brief, video, 5), video)).toEqual([])
    })

    it("refines two short stretches that a gap near maxGapMs may join into one long enough", () => {
      // 1667 ms, away exactly 1000 ms, 1333 ms. At 2 fps the usable samples are 45-75 and 120-150:
      // each too short alone, maybe joined.
      const truth: GroundTruth = (i) => ((i >= 31 && i <= 80) || (i >= 111 && i <= 150) ? [{ person: 0, detection: face(0.5) }] : [])
      expect(expectExactAtEveryRate(truth, videoOf(8))).toEqual([{ faceId: "0", startMs: 1033, endMs: 5034, firstFrame: 31, lastFrame: 150 }])
    })

    it("merges refined frames in frame order, one entry per frame", () => {
      const truth = only(0, 0, 10, () => face(0.5))
      const merged = FaceTrack.refine([frameAt(truth, 6), frameAt(truth, 0)], [frameAt(truth, 3), frameAt(truth, 6)])
      expect(merged.map((frame) => frame.frameIndex)).toEqual([0, 3, 6])
    })

    it("gives the same intervals at 2, 3, 4, 5 and 10 fps for random ground truths, exact to the frame", () => {
      let examinedAt5 = 0
      let framesAt5 = 0
      for (let seed = 1; seed <= 40; seed++) {
        const { truth, video } = randomGroundTruth(seed)
        expectExactAtEveryRate(truth, video)
        examinedAt5 += analyse(truth, video, 5).examined
        framesAt5 += video.frameCount
      }
      // Refinement examines a fraction of the frames, not all of them.
      expect(examinedAt5 / framesAt5).toBeLessThan(0.5)
    })

    it("gives the same exact intervals when each round examines only framesToExamine, in fewer detections", () => {
      let examinedWhole = 0
      let examinedInSteps = 0
      for (let seed = 1; seed <= 40; seed++) {
        const { truth, video } = randomGroundTruth(seed)
        const expected = expectedFaces(truth, video)
        for (const rate of [2, 2.5, 5]) {
          const stepped = analyseInSteps(truth, video, rate)
          expect({ seed, rate, faces: summary(stepped.faces) }).toEqual({ seed, rate, faces: expected })
          expect(stepped.rounds).toBeLessThanOrEqual(3)
          examinedInSteps += stepped.examined
          examinedWhole += analyse(truth, video, rate).examined
        }
      }
      expect(examinedInSteps / examinedWhole).toBeLessThan(0.8)
    })

    it("examines every step-th frame of a request, or all of a short one", () => {
      expect(FaceTrack.framesToExamine({ fromFrame: 1, toFrame: 11 })).toEqual([3, 6, 9])
      expect(FaceTrack.framesToExamine({ fromFrame: 10, toFrame: 12 })).toEqual([10, 11, 12])
      expect(FaceTrack.framesToExamine({ fromFrame: 5, toFrame: 5 })).toEqual([5])
      expect(FaceTrack.framesToExamine({ fromFrame: 0, toFrame: 23 })).toEqual([4, 9, 14, 19])
    })
  })
})

/** A deterministic pseudo-random source (mulberry32). */
const randomSource = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Shot = "away" | "usable" | "turned" | "small" | "unsure"

/**
 * Up to three places in the frame; in each a sequence of shots, every one at least 15 frames (one
 * sampling step at 2 fps) long, of one of two people or nobody: cuts between people, absences
 * around the 1000 ms threshold, faces turned, too small or unsure. The people drift a little and
 * carry noisy embeddings.
 */
const randomGroundTruth = (seed: number): { readonly truth: GroundTruth; readonly video: FaceTrack.VideoTiming } => {
  const random = randomSource(seed)
  const pick = <A>(options: ReadonlyArray<A>): A => options[Math.floor(random() * options.length)]!
  const video = videoOf(4 + Math.floor(random() * 12))
  const places = range(0, Math.floor(random() * 3)).map((place) => {
    const shots: Array<{ readonly until: number; readonly person: number; readonly shot: Shot }> = []
    for (let frame = 0; frame < video.frameCount; ) {
      const shot = pick<Shot>(["away", "usable", "usable", "usable", "turned", "small", "unsure"])
      const length = shot === "away" ? pick([15, 28, 29, 30, 31, 32, 45, 90]) : 15 + Math.floor(random() * 150)
      frame += length
      shots.push({ until: frame, person: 2 * place + pick([0, 1]), shot })
    }
    return shots
  })
  const truth: GroundTruth = (i) =>
    places.flatMap((shots, place) => {
      const current = shots.find((shot) => i < shot.until)
      if (current === undefined || current.shot === "away") return []
      const { person, shot } = current
      return [{
        person,
        detection: face(0.2 + 0.3 * place + 0.02 * Math.sin(i / 20), {
          size: shot === "small" ? 0.05 : 0.2 + 0.02 * Math.cos(i / 30),
          yaw: shot === "turned" ? 60 : 10 * Math.sin(i / 25),
          score: shot === "unsure" ? 0.4 : 0.9,
          embedding: embeddingOf(person, i)
        })
      }]
    })
  return { truth, video }
}
