/**
 * The create request: both wire forms, exactly one video reference, typed fields, the model.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as CreateRequest from "../src/CreateRequest.js"

const model = "kirin_identify_face"
const url = "https://videos.example.com/clip.mp4"
const id = "vid_00000000000000000000000000"

/** The code a body is refused with, or the decoded input. */
const decode = (body: unknown) => Either.mapLeft(CreateRequest.decode(body), (error) => error.code)

describe("CreateRequest.decode", () => {
  it("reads the flat form, with a URL or an id, and the callback", () => {
    expect(decode({ model, video_url: url })).toEqual(Either.right({ model, video: { _tag: "VideoUrl", url }, callbackUrl: undefined }))
    expect(decode({ model, video_id: id, callback_url: "https://hooks.example.com/x" })).toEqual(
      Either.right({ model, video: { _tag: "VideoId", id }, callbackUrl: "https://hooks.example.com/x" })
    )
  })

  it("reads the gateway's input: [{ params }] form", () => {
    expect(decode({ model, input: [{ params: { video_url: url } }] })).toEqual(decode({ model, video_url: url }))
    expect(decode({ model, input: [{ params: { video_id: id } }] })).toEqual(decode({ model, video_id: id }))
  })

  it("ignores fields it does not name", () => {
    expect(decode({ model, video_url: url, temperature: 0.2, extra: { nested: true } })).toEqual(decode({ model, video_url: url }))
    expect(decode({ model, input: [{ params: { video_url: url, fps: 25 }, other: 1 }] })).toEqual(decode({ model, video_url: url }))
  })

  it.each([
    ["no video", { model }],
    ["both ids, flat", { model, video_url: url, video_id: id }],
    ["both ids, across the forms", { model, video_url: url, input: [{ params: { video_id: id } }] }],
    ["the same id in both forms", { model, video_url: url, input: [{ params: { video_url: url } }] }],
    ["empty params", { model, input: [{ params: {} }] }],
    ["no input element", { model, input: [] }],
    ["two input elements", { model, input: [{ params: { video_url: url } }, { params: { video_url: url } }] }],
    ["a number for the URL", { model, video_url: 42 }],
    ["null for the id", { model, video_id: null }],
    ["an object for the URL", { model, video_url: { href: url } }],
    ["input not an array", { model, input: { params: { video_url: url } } }],
    ["params not an object", { model, input: [{ params: "video_url" }] }],
    ["a number for the callback", { model, video_url: url, callback_url: 1 }],
    ["no model", { video_url: url }],
    ["a number for the model", { model: 1, video_url: url }]
  ])("refuses %s with 014002101", (_, body) => {
    expect(decode(body)).toEqual(Either.left("014002101"))
  })

  it.each([null, undefined, 42, "text", true, [], [{ model, video_url: url }]])("refuses the non-object body %j with 014002101", (body) => {
    expect(decode(body)).toEqual(Either.left("014002101"))
  })

  it("refuses another model with 014002102", () => {
    expect(decode({ model: "kirin_lip_sync", video_url: url })).toEqual(Either.left("014002102"))
    expect(decode({ model: "KIRIN_IDENTIFY_FACE", video_url: url })).toEqual(Either.left("014002102"))
  })

  it("names the offending field in the message", () => {
    const refused = CreateRequest.decode({ model, video_url: 42 })
    expect(Either.isLeft(refused) && refused.left.message).toContain("video_url")
  })
})

describe("CreateRequest.encode", () => {
  it("writes the flat form that decode reads back", () => {
    const input = { video: { _tag: "VideoUrl" as const, url }, callbackUrl: "https://hooks.example.com/x" }
    const body = CreateRequest.encode(input)
    expect(body).toEqual({ model, video_url: url, callback_url: "https://hooks.example.com/x" })
    expect(decode(JSON.parse(JSON.stringify(body)))).toEqual(Either.right({ model, ...input }))
  })
})
