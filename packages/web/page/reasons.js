// @ts-check
/** Each code of API.md in plain words, for the person who sent the video. */

/** @type {Readonly<Record<string, string>>} */
const reasons = {
  "014002095": "The analysis failed on the server. Try again; if it fails again, the video may be damaged.",
  "014002096": "The server's result could not be read. Try again.",
  "014002097": "The video URL answered with an error instead of a video. Check that the link opens the video itself.",
  "014002099": "The analysis was interrupted or took too long. Try again.",
  "014002101": "The request was not understood. Choose a file or paste a URL, and try again.",
  "014002102": "The server does not run the model this page asks for.",
  "014002103": "The uploaded video is no longer on the server: uploads expire after 24 hours. Upload it again.",
  "014002104": "That URL cannot be used. It must be a public http or https address, without a user name or password.",
  "014002105": "The video URL could not be reached: its server did not answer in time, or redirected too often.",
  "014002110": "The file is not an MP4 or MOV video.",
  "014002111": "The video is larger than 100 MB.",
  "014002112": "The video must be from 2 to 60 seconds long.",
  "014002113": "The video must be 720p or 1080p: its shorter side must be 720 or 1080 pixels.",
  "014002114": "Each side of the video must be from 512 to 2160 pixels.",
  "014002115": "The file holds no video that can be decoded.",
  "401": "The API key was not accepted. Forget it and enter the key the server printed when it started.",
  "404": "The server has no such task or file; it may have expired.",
  "405": "The server does not take this kind of request here. The page and the server may be of different versions.",
  "408": "The upload stalled or took too long, so the server stopped waiting. Try again on a steadier connection.",
  "409": "The task has already finished, so it cannot be cancelled.",
  "413": "The video is larger than 100 MB.",
  "415": "The server refused the upload's type. Choose an MP4 or MOV file.",
  "422": "This request reused an idempotency key with different content.",
  "429": "Too many requests with this key. Wait a moment and try again.",
  network: "The server could not be reached. Check the connection, and that the server is running."
}

/**
 * The plain-words reason for a code; a general one for a code the page does not know.
 * @param {string} code
 */
export const reasonFor = (code) =>
  (Object.hasOwn(reasons, code) ? reasons[code] : undefined) ?? "Something went wrong on the server. Try again."
