/**
 * Mount the identify-face API in a Hono app.
 *
 * @since 0.1.0
 */
export { identifyFace } from "./IdentifyFace.js"
export type { IdentifyFaceApp, IdentifyFaceOptions } from "./IdentifyFace.js"
