/**
 * `callback_url` webhooks of the distributed setup for real: an API node and two workers as
 * separate processes on one Redis, a receiver on loopback that verifies each callback with the
 * client's `verifyWebhook`. The worker delivering a callback is killed (SIGKILL) while the receiver
 * holds the request; the other worker takes the callback over, and every task's callback is
 * answered, once but for those the killed worker had sent without recording the answer, with the
 * task as the API answers it.
 */
import * as Authenticator from "@identify-face/core/Authenticator"
import * as Client from "@identify-face/core/Client"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { start, stop } from "./helpers/processes.js"
import { startReceiver } from "./helpers/receiver.js"
import { deleteKeys, freshPrefix, REDIS_URL } from "./helpers/redis.js"

const API_KEY = "distributed-webhooks-key"
const SECRET = Webhooks.generateSecret()

describe("webhooks of one API node and two workers on Redis", () => {
  it("deliver every callback, each once but for the killed worker's cut-short ones, although it is killed mid-delivery", { timeout: 120_000 }, async () => {
    // The very first request is held open: the worker that sent it is killed meanwhile.
    let held = false
    const receiver = await startReceiver(() => (held ? "ok" : ((held = true), "hang")))
    const prefix = freshPrefix()
    const shared = {
      IDENTIFY_FACE_REDIS_URL: REDIS_URL,
      IDENTIFY_FACE_REDIS_PREFIX: prefix,
      IDENTIFY_FACE_PUBLIC_URL: "https://api.example.com",
      IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS: receiver.host
    }
    const api = start("apiNode.ts", { ...shared, IDENTIFY_FACE_API_KEYS: API_KEY, PORT: "0" })
    const worker = () =>
      start("main.ts", {
        ...shared,
        IDENTIFY_FACE_WEBHOOK_SECRET: SECRET,
        IDENTIFY_FACE_ANALYZER: "double",
        IDENTIFY_FACE_ANALYZER_DELAY_MS: "200",
        IDENTIFY_FACE_CONCURRENCY: "2",
        IDENTIFY_FACE_LOCK_MS: "3000",
        IDENTIFY_FACE_STALLED_INTERVAL_MS: "500"
      })
    const workers = [worker(), worker()]
    try {
      const [listening] = await Promise.all([api.waitFor(/listening on (http:\/\/\S+)/), ...workers.map((one) => one.waitFor(/worker: ready/))])
      const client = Client.makePromise({ baseUrl: listening[1]!, apiKey: API_KEY })
      const upload = await client.uploadVideo(new Blob(["a clip for the scripted analyzer"]), "video/mp4")
      const created = await Promise.all(Array.from({ length: 6 }, () => client.createTask({ videoId: upload.video_id }, { callbackUrl: receiver.url })))
      const ids = created.map((task) => task.id)

      const [first] = await receiver.waitFor((received) => received.length > 0, 60_000)
      const deliverer = workers.find((one) => one.output().includes(`delivering the callback of ${first!.id} (attempt 1)`))
      expect(deliverer).toBeDefined()
      await stop(deliverer!, "SIGKILL")

      await receiver.waitFor((all) => ids.every((id) => all.some((one) => one.id === id && one.answer === "ok")), 60_000)
      // Let anything still owed come, then count.
      await new Promise((resolve) => setTimeout(resolve, 4000))
      const received = receiver.received()
      const answered = received.filter((one) => one.answer === "ok")
      expect(new Set(answered.map((one) => one.id))).toEqual(new Set(ids))
      expect(received.filter((one) => one.id === first!.id).map((one) => one.answer)).toEqual(["hang", "ok"])
      // A callback is answered twice only if the killed worker had sent it and not yet recorded the
      // answer when it died (its log says it was delivering it, not that it was delivered): the
      // repeat carries the same webhook-id. Every other callback is answered exactly once.
      const killedOutput = deliverer!.output()
      const cutShort = ids.filter((id) => killedOutput.includes(`delivering the callback of ${id}`) && !killedOutput.includes(`the callback of ${id} delivered`))
      const repeated = ids.filter((id) => answered.filter((one) => one.id === id).length > 1)
      expect(repeated.filter((id) => !cutShort.includes(id))).toEqual([])

      // Each is signed with the tenant's secret and carries the task exactly as the API answers it.
      const secret = await Effect.runPromise(Effect.flatMap(Authenticator.tenantOf(API_KEY), (tenant) => Webhooks.tenantSecret(SECRET, tenant.id)))
      for (const one of answered) {
        const task = await Client.verifyWebhookPromise({ headers: one.headers, body: one.body }, secret)
        expect(task).toEqual(await client.getTask(one.id))
        expect(task.status).toBe("completed")
      }
    } finally {
      await Promise.all([...workers.map((one) => stop(one, "SIGKILL")), stop(api)])
      await receiver.close()
      const redis = new Redis(REDIS_URL)
      await deleteKeys(redis, prefix)
      await redis.quit()
    }
  })
})
