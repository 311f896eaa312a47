/**
 * A kept task as the wire shows it: which fields each status carries.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { UnsupportedResolutionError } from "../src/Errors.js"
import type { FileKey } from "../src/Ids.js"
import * as Task from "../src/Task.js"
import { toTaskObject } from "../src/TaskView.js"
import { FaceResultFromText, TaskObject } from "../src/Wire.js"
import { analysis, pendingTask } from "./helpers/fixtures.js"

const fileUrl = (key: FileKey) => `https://api.example.com/model/v1/files/${key}`

const pending = pendingTask({ createdAt: 1_764_140_000_500, updatedAt: 1_764_140_000_500 })
const processing = Task.describe(Task.advance(Task.start(pending, 1_764_140_001_000), 0.42317, 1_764_140_002_000), analysis.metadata, { fetch: 12 }, 1_764_140_003_999)
const completed = Task.complete(
  processing,
  {
    faces: [{ faceId: "0", imageKey: `${"k".repeat(43)}.jpg`, startMs: 0, endMs: 5200 }],
    usage: { cost: "0.0000", discount: 0 },
    unitDeduction: "1"
  },
  1_764_140_005_000
)
const failed = Task.fail(processing, new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }), 1_764_140_005_000)
const cancelled = Task.cancel(processing, 1_764_140_005_000)

/** The optional fields a status shows. */
const shown = (task: Task.Task) => {
  const wire = toTaskObject(task, fileUrl)
  return (["progress", "output", "usage", "error"] as const).filter((field) => field in wire)
}

describe("TaskView.toTaskObject", () => {
  it("shows progress only while processing, output and usage only when completed, error only when failed", () => {
    expect(shown(pending)).toEqual([])
    expect(shown(processing)).toEqual(["progress"])
    expect(shown(completed)).toEqual(["output", "usage"])
    expect(shown(failed)).toEqual(["error"])
    expect(shown(cancelled)).toEqual([])
  })

  it("writes times as Unix seconds and progress to three decimals", () => {
    const wire = toTaskObject(processing, fileUrl)
    expect(wire).toMatchObject({ status: "processing", progress: 0.423, created_at: 1_764_140_000, updated_at: 1_764_140_003 })
    expect(wire.metadata).toEqual({ video: analysis.metadata, timings_ms: { fetch: 12 } })
  })

  it("carries the result as a JSON string with absolute screenshot URLs", () => {
    const wire = toTaskObject(completed, fileUrl)
    const text = wire.output?.[0]?.content[0]?.text ?? ""
    const result = Schema.decodeSync(FaceResultFromText)(text)
    expect(result).toEqual({
      code: 0,
      message: "SUCCEED",
      request_id: pending.requestId,
      data: {
        session_id: pending.sessionId,
        final_unit_deduction: "1",
        face_data: [{ face_id: "0", face_image: `https://api.example.com/model/v1/files/${"k".repeat(43)}.jpg`, start_time: 0, end_time: 5200 }]
      }
    })
    expect(wire.output?.[0]?.content[0]).toMatchObject({ type: "text", url: "" })
  })

  it("writes the failure's code and message", () => {
    expect(toTaskObject(failed, fileUrl).error).toEqual({ code: "014002113", error_message: "resolution 640x480 is not 720p or 1080p" })
  })

  it("answers objects of the wire schema for every status", () => {
    for (const task of [pending, processing, completed, failed, cancelled]) {
      expect(Schema.is(TaskObject)(toTaskObject(task, fileUrl))).toBe(true)
    }
  })

  it("never shows the tenant or the stored key", () => {
    for (const task of [pending, processing, completed, failed, cancelled]) {
      expect(JSON.stringify(toTaskObject(task, fileUrl))).not.toContain(pending.tenant)
    }
  })
})
