/**
 * The SSRF rules: which addresses are public, and which URLs are refused before any fetch.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { checkUrl, isIpLiteral, isPublicAddress } from "../src/AddressGuard.js"

describe("AddressGuard.isPublicAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.1.2.3", "10/8"],
    ["172.16.0.1", "172.16/12"],
    ["172.31.255.255", "172.16/12"],
    ["192.168.1.1", "192.168/16"],
    ["100.64.0.1", "100.64/10 CGNAT"],
    ["100.127.255.255", "100.64/10 CGNAT"],
    ["169.254.169.254", "cloud metadata, link-local"],
    ["0.0.0.0", "this host"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::1", "IPv6 loopback"],
    ["::", "IPv6 unspecified"],
    ["fe80::1", "IPv6 link-local"],
    ["fe80::", "IPv6 link-local"],
    ["fc00::", "IPv6 unique local"],
    ["fd12:3456::1", "IPv6 unique local"],
    ["ff02::1", "IPv6 multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:a9fe:a9fe", "IPv4-mapped metadata address, hex"],
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["64:ff9b::7f00:1", "NAT64 of loopback"],
    ["64:ff9b::10.0.0.1", "NAT64 of 10/8"],
    ["2002:7f00:1::", "6to4 of loopback"],
    ["2002:c0a8:101::1", "6to4 of 192.168/16"],
    ["[::1]", "bracketed loopback"],
    ["localhost", "a name, not an address"],
    ["8.8.8", "not an address"],
    ["256.1.1.1", "not an address"],
    ["1::2::3", "not an address"]
  ])("refuses %s (%s)", (address) => {
    expect(isPublicAddress(address)).toBe(false)
  })

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "64:ff9b::8.8.8.8", "2002:808:808::1"])(
    "allows the public address %s",
    (address) => {
      expect(isPublicAddress(address)).toBe(true)
    }
  )
})

describe("AddressGuard.checkUrl", () => {
  const refusal = (url: string) => Either.match(checkUrl(url), { onLeft: (error) => error.code, onRight: () => "accepted" })

  it.each([
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.0.1./",
    "http://[::ffff:127.0.0.1]/",
    "http://[::1]:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/video.mp4",
    "ftp://x",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "http://user:pw@videos.example.com/",
    "http://user@videos.example.com/",
    "http://localhost/",
    "http://LOCALHOST:3000/",
    "http://localhost./",
    "http://api.localhost/",
    "http://printer.local/",
    "http://metadata.google.internal/",
    "http://intranet/",
    "not a url",
    `https://videos.example.com/${"a".repeat(10_000)}`
  ])("refuses %s with 014002104", (url) => {
    expect(refusal(url)).toBe("014002104")
  })

  it.each(["https://videos.example.com/clip.mp4", "http://8.8.8.8/a.mp4", "https://[2606:4700::1]/a.mp4", "https://cdn.example.com:8443/a.mp4?sig=1"])(
    "accepts %s",
    (url) => {
      expect(refusal(url)).toBe("accepted")
    }
  )

  it("lets allowHost open named hosts, as tests on loopback need", () => {
    expect(Either.isRight(checkUrl("http://127.0.0.1:4000/a.mp4", (host) => host === "127.0.0.1:4000"))).toBe(true)
    // Credentials stay refused whatever allowHost says.
    expect(Either.isLeft(checkUrl("http://u:p@127.0.0.1:4000/a.mp4", () => true))).toBe(true)
  })

  it("tells IP literals from names", () => {
    expect(isIpLiteral("127.0.0.1")).toBe(true)
    expect(isIpLiteral("[::1]")).toBe(true)
    expect(isIpLiteral("example.com")).toBe(false)
  })
})
