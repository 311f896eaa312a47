/**
 * The page in Debian's Chromium, driven by playwright-core, against the Hono demo server as
 * `npm start` runs it (a child process with the real analysis): the key typed in, a clip of
 * Grace Hopper uploaded, her face on the timeline with its screenshot, the video sent to her start
 * by a click and by the keyboard; then a dropped 640x480 clip and a loopback URL refused in plain
 * words, a task cancelled, and the key forgotten. Leaves a full-page screenshot in test-artifacts/web-page.png.
 */
import { spawn } from "node:child_process"
import type { ChildProcessByStdio } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeClip, makeCustomClip } from "../../node/test/helpers/clips.js"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const HOPPER = fileURLToPath(new URL("../../node/test/fixtures/grace_hopper.jpg", import.meta.url))
const SCREENSHOT = join(repoRoot, "test-artifacts", "web-page.png")
const API_KEY = "ifk_browser_test_key"
const CLIP_SECONDS = 4

// As the machine's notes say: no sandbox as root, and none of the background connections a
// closed network refuses. playwright gives every launch a fresh profile of its own.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/**
 * Grace Hopper's portrait at 720p, as a camera would frame her: scaled to the height and padded,
 * not stretched to 16:9 (stretched, the detector also reports half her face as a second one).
 */
const hopperClip = () =>
  makeCustomClip({
    container: "mp4",
    sources: [HOPPER],
    commands: (output) => [
      [
        ...["-loop", "1", "-framerate", "25", "-t", String(CLIP_SECONDS), "-i", HOPPER],
        ...["-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0,setsar=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
        output
      ]
    ]
  })

type DemoServer = ChildProcessByStdio<null, Readable, Readable>

/** Starts apps/hono-demo as `npm start` does, on a free loopback port: the process at once, its URL once it listens. */
const startDemo = (dataDir: string): { server: DemoServer; url: Promise<string> } => {
  const { IDENTIFY_FACE_ANALYZER: _double, ...env } = process.env
  const server = spawn(process.execPath, ["--conditions=@identify-face/source", "--import", "tsx", "apps/hono-demo/src/main.ts"], {
    cwd: repoRoot,
    env: { ...env, PORT: "0", HOST: "127.0.0.1", IDENTIFY_FACE_API_KEYS: API_KEY, IDENTIFY_FACE_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const url = new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      const listening = /listening on (http:\/\/\S+)/.exec(output)
      if (listening?.[1] !== undefined) resolve(listening[1])
    }
    server.stdout.on("data", read)
    server.stderr.on("data", read)
    server.once("exit", (code) => reject(new Error(`the demo server exited (${code}):\n${output}`)))
  })
  return { server, url }
}

/** Stops the server as Ctrl-C would, and for good if it has not gone in 5 s. */
const stopDemo = (server: DemoServer) =>
  new Promise<void>((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) return resolve()
    const kill = setTimeout(() => server.kill("SIGKILL"), 5000)
    server.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    server.kill("SIGTERM")
  })

/** Opens the page and enters the key from the keyboard. */
const openWithKey = async (page: Page, url: string) => {
  await page.goto(`${url}/`)
  await page.getByLabel("API key", { exact: true }).focus()
  await page.keyboard.type(API_KEY)
  await page.keyboard.press("Enter")
  await page.getByText("Using key").waitFor()
}

/** Drops `clip` on the drop zone, as a file dragged from the desktop would be. */
const dropFile = async (page: Page, clip: string) => {
  const dataTransfer = await page.evaluateHandle((base64) => {
    const transfer = new DataTransfer()
    transfer.items.add(new File([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], "dropped.mp4", { type: "video/mp4" }))
    return transfer
  }, (await readFile(clip)).toString("base64"))
  await page.locator("#drop-zone").dispatchEvent("drop", { dataTransfer })
}

/** Sends the player to `seconds` and waits until it is there. */
const seekPlayer = (page: Page, seconds: number) =>
  page.locator("#player").evaluate(
    (video: HTMLVideoElement, to) =>
      new Promise<void>((resolve) => {
        video.pause()
        video.addEventListener("seeked", () => resolve(), { once: true })
        video.currentTime = to
      }),
    seconds
  )

const playerTime = (page: Page) => page.locator("#player").evaluate((video: HTMLVideoElement) => video.currentTime)

/** Parses m:ss.mmm into milliseconds. */
const parseTime = (text: string) => {
  const [minutes = "", seconds = ""] = text.split(":")
  return Number(minutes) * 60_000 + Math.round(Number(seconds) * 1000)
}

describe("the web page in Chromium", () => {
  let dataDir: string
  let server: DemoServer | undefined
  let url: string
  let browser: Browser
  let faceClip: string
  let lowResolutionClip: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "identify-face-web-"))
    // Kept before anything is awaited, so that afterAll stops it whatever fails.
    const demo = startDemo(dataDir)
    server = demo.server
    ;[url, browser, faceClip, lowResolutionClip] = await Promise.all([
      demo.url,
      chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS }),
      hopperClip(),
      makeClip({ width: 640, height: 480, seconds: 3 })
    ])
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) await stopDemo(server)
    await rm(dataDir, { recursive: true, force: true })
  })

  it("uploads a clip, shows its face on the timeline and plays the video from the face", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    await openWithKey(page, url)
    await page.getByLabel("Drop a video here, or choose a file").setInputFiles(faceClip)

    const face = page.locator("#faces button.face")
    await face.first().waitFor({ timeout: 45_000 })
    await expect.poll(() => face.count()).toBe(1)
    expect(await page.locator("#upload-progress").evaluate((bar: HTMLProgressElement) => bar.value)).toBe(1)
    expect(await page.locator("#status").textContent()).toBe("Done: one face found.")

    const [start = "", end = ""] = ((await face.locator(".face-label span").first().textContent()) ?? "").split(" – ")
    const [startMs, endMs] = [parseTime(start), parseTime(end)]
    expect(startMs).toBeLessThanOrEqual(500)
    expect(endMs).toBeGreaterThanOrEqual(CLIP_SECONDS * 1000 - 500)
    expect(endMs).toBeLessThanOrEqual(CLIP_SECONDS * 1000 + 100)
    expect(await face.locator(".face-label strong").textContent()).toBe("Face 0")
    await expect
      .poll(() => face.locator("img").evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0))
      .toBe(true)
    const bar = await face.locator(".bar").evaluate((element: HTMLElement) => ({ left: element.style.left, width: element.style.width }))
    expect(Number.parseFloat(bar.left)).toBeCloseTo((100 * startMs) / (CLIP_SECONDS * 1000), 0)
    expect(Number.parseFloat(bar.width)).toBeGreaterThan(80)

    // The key is in this tab's sessionStorage only.
    expect(await page.evaluate(() => [sessionStorage.getItem("identify-face.api-key"), localStorage.length])).toEqual([API_KEY, 0])
    expect(page.url()).not.toContain(API_KEY)

    await seekPlayer(page, 3.5)
    await face.click()
    await expect.poll(() => playerTime(page)).toBeLessThan(startMs / 1000 + 1)
    expect(await playerTime(page)).toBeGreaterThanOrEqual(startMs / 1000)
    await expect.poll(() => page.locator("#player").evaluate((video: HTMLVideoElement) => video.paused)).toBe(false)

    await seekPlayer(page, 3.5)
    await face.focus()
    await page.keyboard.press("Space")
    await expect.poll(() => playerTime(page)).toBeLessThan(startMs / 1000 + 1)

    await seekPlayer(page, startMs / 1000 + 1)
    await mkdir(join(repoRoot, "test-artifacts"), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    await page.close()
  }, 60_000)

  it("shows refusals in plain words, cancels a task and forgets the key", async () => {
    const page = await browser.newPage()
    await openWithKey(page, url)
    await dropFile(page, lowResolutionClip)

    const problem = page.getByRole("alert")
    await problem.waitFor({ timeout: 30_000 })
    expect(await page.locator("#problem-code").textContent()).toBe("014002113")
    expect(await page.locator("#problem-reason").textContent()).toBe("The video must be 720p or 1080p: its shorter side must be 720 or 1080 pixels.")
    expect(await page.locator("#result-section").isHidden()).toBe(true)

    // A pasted URL on loopback is refused before any task starts.
    await page.getByLabel("Or paste a video URL").fill("http://127.0.0.1:9/clip.mp4")
    await page.getByRole("button", { name: "Find faces" }).click()
    await expect.poll(() => page.locator("#problem-code").textContent()).toBe("014002104")
    expect(await page.locator("#problem-reason").textContent()).toMatch(/^That URL cannot be used/)

    // A task is cancelled on the server from the page.
    await page.getByLabel("Drop a video here, or choose a file").setInputFiles(faceClip)
    await page.getByText(/^(The task is waiting to start\.|Looking for faces…)$/).waitFor()
    await page.getByRole("button", { name: "Cancel" }).click()
    await page.getByText("The task was cancelled.").waitFor()

    await page.getByRole("button", { name: "Forget key" }).click()
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0)
    expect(await page.getByLabel("Drop a video here, or choose a file").isDisabled()).toBe(true)
    expect(await page.getByLabel("API key", { exact: true }).evaluate((input) => input === document.activeElement)).toBe(true)
    await page.close()
  }, 45_000)
})
