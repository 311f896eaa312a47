import { describe, expect, it } from "vitest"
import { keypointPose, type BlazeFaceResult, type Point } from "../../src/internal/blazeFace.js"

// Grace Hopper's keypoints as BlazeFace finds them in grace_hopper.jpg at 256 px (rounded): a level face.
const hopper: BlazeFaceResult["keypoints"] = [
  [99.4, 83.1],
  [134.9, 81],
  [118.7, 102.8],
  [119.6, 119.5],
  [80.5, 91.6],
  [153.6, 87.1]
]

const rotate = (keypoints: BlazeFaceResult["keypoints"], degrees: number): BlazeFaceResult["keypoints"] => {
  const [c, s] = [Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)]
  const turn = ([x, y]: Point): Point => [100 + (x - 100) * c - (y - 100) * s, 100 + (x - 100) * s + (y - 100) * c]
  return keypoints.map(turn) as unknown as BlazeFaceResult["keypoints"]
}

const withNose = (dy: number): BlazeFaceResult["keypoints"] => {
  const [rightEye, leftEye, [x, y], mouth, rightEar, leftEar] = hopper
  return [rightEye, leftEye, [x, y + dy], mouth, rightEar, leftEar]
}

describe("keypointPose", () => {
  it("gives a level face a small pitch, the same whatever its roll", () => {
    const level = keypointPose(hopper)
    expect(Math.abs(level.pitch)).toBeLessThan(10)
    for (const roll of [-40, 25, 170]) {
      const rolled = keypointPose(rotate(hopper, roll))
      expect(rolled.pitch).toBeCloseTo(level.pitch, 6)
      expect(rolled.roll - level.roll).toBeCloseTo(roll, 6)
    }
  })

  it("gives a nose lower between the eyes and the mouth a positive pitch (looking down), as FaceMesh does", () => {
    expect(keypointPose(withNose(10)).pitch).toBeGreaterThan(keypointPose(hopper).pitch + 5)
    expect(keypointPose(withNose(-10)).pitch).toBeLessThan(keypointPose(hopper).pitch - 5)
  })

  it("gives no pitch when the keypoints cannot: eyes at one point, or the mouth on the eye line", () => {
    const [rightEye, , nose, , rightEar, leftEar] = hopper
    expect(keypointPose([rightEye, rightEye, nose, [110, 90], rightEar, leftEar]).pitch).toBeNaN()
    expect(keypointPose([rightEye, [134.9, 83.1], nose, [118, 83.1], rightEar, leftEar]).pitch).toBeNaN()
  })
})
