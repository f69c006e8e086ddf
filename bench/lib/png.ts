/**
 * @module A tiny RGB raster with rectangles, lines and a 5x8 bitmap font, encoded as PNG with node:zlib.
 * Enough for a bar chart without a browser, a native canvas or a download.
 */
import { deflateSync } from "node:zlib";

export type Rgb = readonly [number, number, number];

// Classic 5x8 LCD font, ASCII 32..122: five columns per glyph, bit 0 at the top.
const FONT = [
  "0000000000",
  "00005f0000",
  "0007000700",
  "147f147f14",
  "242a7f2a12",
  "2313086462",
  "3649562050",
  "0008070300",
  "001c224100",
  "0041221c00",
  "2a1c7f1c2a",
  "08083e0808",
  "0080703000",
  "0808080808",
  "0000606000",
  "2010080402",
  "3e5149453e",
  "00427f4000",
  "7249494946",
  "2141494d33",
  "1814127f10",
  "2745454539",
  "3c4a494931",
  "4121110907",
  "3649494936",
  "464949291e",
  "0000140000",
  "0040340000",
  "0008142241",
  "1414141414",
  "0041221408",
  "0201590906",
  "3e415d594e",
  "7c1211127c",
  "7f49494936",
  "3e41414122",
  "7f4141413e",
  "7f49494941",
  "7f09090901",
  "3e41415173",
  "7f0808087f",
  "00417f4100",
  "2040413f01",
  "7f08142241",
  "7f40404040",
  "7f021c027f",
  "7f0408107f",
  "3e4141413e",
  "7f09090906",
  "3e4151215e",
  "7f09192946",
  "2649494932",
  "03017f0103",
  "3f4040403f",
  "1f2040201f",
  "3f4038403f",
  "6314081463",
  "0304780403",
  "6159494d43",
  "007f414141",
  "0204081020",
  "004141417f",
  "0402010204",
  "4040404040",
  "0003070800",
  "2054547840",
  "7f28444438",
  "3844444428",
  "384444287f",
  "3854545418",
  "00087e0902",
  "18a4a49c78",
  "7f08040478",
  "00447d4000",
  "2040403d00",
  "7f10284400",
  "00417f4000",
  "7c04780478",
  "7c08040478",
  "3844444438",
  "fc18242418",
  "18242418fc",
  "7c08040408",
  "4854545424",
  "04043f4424",
  "3c4040207c",
  "1c2040201c",
  "3c4030403c",
  "4428102844",
  "4c9090907c",
  "4464544c44",
];

export class Raster {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.pixels[i] = c[0];
        this.pixels[i + 1] = c[1];
        this.pixels[i + 2] = c[2];
      }
    }
  }

  /** Horizontal line, dashed when `dash` > 0. */
  hline(x: number, y: number, w: number, c: Rgb, thickness = 1, dash = 0): void {
    if (dash <= 0) return this.fill(x, y, w, thickness, c);
    for (let xx = 0; xx < w; xx += dash * 2) this.fill(x + xx, y, Math.min(dash, w - xx), thickness, c);
  }

  /** Width in pixels of `text` at `scale`. */
  static textWidth(text: string, scale = 1): number {
    return text.length * 6 * scale;
  }

  text(x: number, y: number, text: string, c: Rgb, scale = 1): void {
    let cx = x;
    for (const ch of text) {
      const code = ch.charCodeAt(0);
      const glyph = FONT[code - 32] ?? FONT[31]!;
      for (let col = 0; col < 5; col++) {
        const bits = parseInt(glyph.slice(col * 2, col * 2 + 2), 16);
        for (let row = 0; row < 8; row++)
          if (bits & (1 << row)) this.fill(cx + col * scale, y + row * scale, scale, scale, c);
      }
      cx += 6 * scale;
    }
  }

  png(): Buffer {
    const stride = this.width * 3;
    const raw = Buffer.alloc((stride + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (stride + 1)] = 0; // filter: none
      Buffer.from(this.pixels.buffer, this.pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method extras, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", deflateSync(raw, { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
