#!/usr/bin/env node
// Run MeshCommander's KVM desktop decoder, as MeshCentral ships it on npm, against a plain RFB
// server on loopback (here amtterm's RfbServer), and print the picture it drew.
//
// The MeshCentral files are loaded from node_modules at run time (`npm ci` in this folder);
// nothing of them is copied into this repository. This file is only the harness around them:
//
//   public/scripts/amt-desktop-0.0.2.js   MeshCommander's RFB client: handshake, RAW and ZRLE
//                                         ("RLE") tiles, drawn on a canvas
//   public/scripts/zlib*.js               the zlib inflater it uses
//   public/scripts/common-0.0.1.js        Q() and friends
//
// In the browser the desktop object sits inside the redirection transport (amt-redir-ws), which
// hands it the bytes after the KVM 0x41; here a TCP socket hands it the RFB stream directly, and
// the canvas is a plain RGB buffer with the four calls the decoder makes (createImageData,
// putImageData, fillRect, fillStyle).
//
// Usage: node meshcommander_desktop.js --port N [--bpp 16|8] [--quiet-ms 1500]
// Output: one JSON line once no byte has come for --quiet-ms:
//   {"width": W, "height": H, "rgb": "<hex, 3 bytes a pixel>"}
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");
const util = require("util");
const vm = require("vm");

const SCRIPTS = path.join(path.dirname(require.resolve("meshcentral/package.json")), "public", "scripts");

// MeshCentral's code reports its own troubles with console.log; stdout is ours (one JSON line).
console.log = (...parts) => process.stderr.write(util.format(...parts) + "\n");

function parseArgs(argv) {
  const args = { port: 0, bpp: 16, quietMs: 1500 };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === "--port") args.port = Number(argv[i + 1]);
    else if (argv[i] === "--bpp") args.bpp = Number(argv[i + 1]);
    else if (argv[i] === "--quiet-ms") args.quietMs = Number(argv[i + 1]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return args;
}

// A canvas that keeps RGB bytes: what the decoder draws, and nothing else.
function fakeCanvas() {
  const screen = { width: 0, height: 0, rgb: new Uint8Array(0) };
  const element = {
    get width() { return screen.width; },
    set width(value) { screen.width = value; screen.rgb = new Uint8Array(screen.width * screen.height * 3); },
    get height() { return screen.height; },
    set height(value) { screen.height = value; screen.rgb = new Uint8Array(screen.width * screen.height * 3); },
  };
  let colour = [0, 0, 0];
  const put = (x, y, r, g, b) => {
    if (x < 0 || y < 0 || x >= screen.width || y >= screen.height) return;
    const at = (y * screen.width + x) * 3;
    screen.rgb[at] = r; screen.rgb[at + 1] = g; screen.rgb[at + 2] = b;
  };
  const context = {
    canvas: element,
    set fillStyle(style) {
      const rgb = /rgb\((\d+),(\d+),(\d+)\)/.exec(String(style).replace(/ /g, ""));
      colour = rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : [0, 0, 0];
    },
    fillRect(x, y, w, h) {
      for (let row = y; row < y + h; row++) for (let col = x; col < x + w; col++) put(col, row, ...colour);
    },
    createImageData(w, h) { return { data: new Uint8ClampedArray(w * h * 4), width: w, height: h }; },
    putImageData(image, x, y) {
      for (let row = 0; row < image.height; row++) {
        for (let col = 0; col < image.width; col++) {
          const at = (row * image.width + col) * 4;
          put(x + col, y + row, image.data[at], image.data[at + 1], image.data[at + 2]);
        }
      }
    },
  };
  return { screen, element: { getContext: () => context, style: {} } };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const canvas = fakeCanvas();
  globalThis.document = { getElementById: () => canvas.element };
  globalThis.window = { document: globalThis.document };
  for (const file of ["common-0.0.1.js", "zlib.js", "zlib-adler32.js", "zlib-crc32.js", "zlib-inflate.js", "amt-desktop-0.0.2.js"]) {
    const full = path.join(SCRIPTS, file);
    vm.runInThisContext(fs.readFileSync(full, "utf8"), { filename: full });
  }
  const desktop = globalThis.CreateAmtRemoteDesktop("Desk");
  desktop.bpp = args.bpp === 8 ? 1 : 2; // as MeshCommander's colour setting does
  const socket = net.connect(args.port, "127.0.0.1");
  // What the redirection transport would be: it writes the desktop's binary strings to the socket.
  desktop.parent = { send: (data) => socket.write(Buffer.from(data, "latin1")), xxStateChange: () => {} };
  desktop.Start();
  let quiet = null;
  const done = () => {
    socket.destroy();
    const { width, height, rgb } = canvas.screen;
    process.stdout.write(JSON.stringify({ width, height, rgb: Buffer.from(rgb).toString("hex") }) + "\n", () => process.exit(0));
  };
  socket.on("data", (chunk) => {
    desktop.ProcessBinaryData(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    clearTimeout(quiet);
    quiet = setTimeout(done, args.quietMs);
  });
  socket.on("error", (err) => { process.stderr.write(`socket: ${err.message}\n`); process.exit(2); });
}

main();
