/**
 * The embedded server killed mid-task, and what a client sees afterwards. A demo app with the
 * scripted analyzer (each task takes `taskMs`) gets tasks, then more creates in flight, and is
 * killed with SIGKILL while a task runs; it starts again on the same data directory, and every
 * task it had acknowledged must complete. And killed while a task's callback waits for a retry,
 * then while the retry is in flight: the callback still arrives.
 */
import * as Authenticator from "@identify-face/core/Authenticator"
import * as Client from "@identify-face/core/Client"
import type { TaskObject } from "@identify-face/core/Wire"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as Effect from "effect/Effect"
import { startReceiver } from "../../bullmq/test/helpers/receiver.js"
import type { Answer } from "../../bullmq/test/helpers/receiver.js"
import { isFinished, watchTasks } from "../../bullmq/test/helpers/watch.js"
import type { Watched } from "../../bullmq/test/helpers/watch.js"
import { API_KEY, SCRIPTED_VIDEO, makeDataDir, startDemo, stillServes, waitForStatus } from "./servers.js"

/** What a client saw of a set of tasks. */
export interface Counts {
  /** Creates the server acknowledged. */
  readonly created: number
  readonly completed: number
  readonly failed: number
  /** Acknowledged tasks the API no longer answers for. */
  readonly lost: number
  /** Tasks still pending or processing at the deadline. */
  readonly stuck: number
  /** Tasks completed twice: seen completed, then changed, or announced by two runs. */
  readonly duplicated: number
}

/** The counts of `created` tasks as watched; `duplicatedRuns` adds completions found elsewhere (workers' logs). */
export const countsOf = (created: ReadonlyArray<string>, watched: Watched, duplicatedRuns = 0): Counts => ({
  created: created.length,
  completed: watched.tasks.filter((task) => task.status === "completed").length,
  failed: watched.tasks.filter((task) => task.status === "failed").length,
  lost: watched.missing.length,
  stuck: watched.tasks.filter((task) => !isFinished(task)).length,
  duplicated: watched.changedAfterCompletion.length + duplicatedRuns
})

/** One crash and restart. */
export interface CrashRun {
  readonly counts: Counts
  /** Creates in flight at the kill that got no answer: the client cannot know whether they were kept. */
  readonly unanswered: number
  /** The task that was running when the server was killed. */
  readonly cutShort: string
  /** The service after the restart. */
  readonly afterwards: { readonly healthz: number; readonly task: string | undefined }
}

/** Creates `tasks` tasks, then `inFlight` more while it kills the server about halfway through a task's run. */
export const runCrash = async (options: { readonly tasks: number; readonly inFlight: number; readonly taskMs: number }): Promise<CrashRun> => {
  const dataDir = makeDataDir()
  const env = { IDENTIFY_FACE_ANALYZER: "double", IDENTIFY_FACE_ANALYZER_DELAY_MS: String(options.taskMs) }
  let server = await startDemo(dataDir.path, env)
  try {
    const { client } = server
    const upload = await client.uploadVideo(SCRIPTED_VIDEO, "video/mp4")
    const create = () => client.createTask({ videoId: upload.video_id }).then((task) => task.id)
    const ids: Array<string> = []
    for (let i = 0; i < options.tasks; i++) ids.push(await create())

    const cutShort = await waitForStatus(client, ids, "processing")
    await new Promise((resolve) => setTimeout(resolve, options.taskMs / 2))
    // Creates 25 ms apart (about a create's time), the kill halfway through them: some are answered, some cut off.
    const creates = Array.from({ length: options.inFlight }, (_, i) =>
      new Promise((resolve) => setTimeout(resolve, i * 25)).then(create).then((id) => ids.push(id), () => "unanswered" as const)
    )
    await new Promise((resolve) => setTimeout(resolve, (options.inFlight * 25) / 2))
    await server.stop("SIGKILL")
    const unanswered = (await Promise.all(creates)).filter((outcome) => outcome === "unanswered").length

    server = await startDemo(dataDir.path, env)
    const watched = await watchTasks(server.client, ids, ids.length * options.taskMs + 30_000)
    return {
      counts: countsOf(ids, watched),
      unanswered,
      cutShort,
      afterwards: await stillServes(server.url, server.client)
    }
  } finally {
    await server.stop("SIGKILL")
    dataDir.remove()
  }
}

/** A callback's deliveries across two kills of the server delivering it. */
export interface WebhookCrashRun {
  readonly taskId: string
  /** Every request the receiver got, in order: its `webhook-id` and how it was answered. */
  readonly received: ReadonlyArray<{ readonly id: string; readonly answer: Answer }>
  /** How long after the second restart the callback in flight at the kill was made again, ms. */
  readonly resentAfterMs: number
  /** The answered callback's body, verified with the tenant's secret. */
  readonly delivered: unknown
  /** The task as the API answers it afterwards. */
  readonly task: TaskObject
}

/**
 * A task with a `callback_url` to a receiver on loopback that fails the first attempt and holds
 * the second open. The server is killed (SIGKILL) while the retry waits, started again, killed
 * again while the retry is in flight, and started again: the callback is delivered by then.
 */
export const runWebhookCrash = async (): Promise<WebhookCrashRun> => {
  const receiver = await startReceiver((_id, nth) => (nth === 1 ? "fail" : nth === 2 ? "hang" : "ok"))
  const dataDir = makeDataDir()
  const secret = Webhooks.generateSecret()
  const env = {
    IDENTIFY_FACE_ANALYZER: "double",
    IDENTIFY_FACE_WEBHOOK_SECRET: secret,
    IDENTIFY_FACE_PUBLIC_URL: "https://api.example.com",
    IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS: receiver.host
  }
  let server = await startDemo(dataDir.path, env)
  try {
    const upload = await server.client.uploadVideo(SCRIPTED_VIDEO, "video/mp4")
    const { id } = await server.client.createTask({ videoId: upload.video_id }, { callbackUrl: receiver.url })
    // The first attempt failed: its retry waits 5 s (jittered) when the server dies.
    await receiver.waitFor((received) => received.length === 1, 30_000)
    await server.stop("SIGKILL")
    server = await startDemo(dataDir.path, env)
    // The retry, held open by the receiver when the server dies.
    await receiver.waitFor((received) => received.length === 2, 30_000)
    await server.stop("SIGKILL")
    server = await startDemo(dataDir.path, env)
    const restarted = Date.now()
    const [, , answered] = await receiver.waitFor((received) => received.length === 3, 30_000)
    const resentAfterMs = Date.now() - restarted
    const tenantSecret = await Effect.runPromise(Effect.flatMap(Authenticator.tenantOf(API_KEY), (tenant) => Webhooks.tenantSecret(secret, tenant.id)))
    return {
      taskId: id,
      received: receiver.received().map((one) => ({ id: one.id, answer: one.answer })),
      resentAfterMs,
      delivered: await Client.verifyWebhookPromise({ headers: answered!.headers, body: answered!.body }, tenantSecret),
      task: await server.client.getTask(id)
    }
  } finally {
    await server.stop("SIGKILL")
    await receiver.close()
    dataDir.remove()
  }
}
