// Reading a zip file's central directory from disk (ZIP64 aware) without
// reading the entries' data: the test suites and the benchmarks check the
// study zips the servers stored with it, entry by entry, however large.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** `length` bytes of `fd` at `position`; throws on a short read. */
function readAt(fd, position, length) {
  const buffer = Buffer.alloc(length);
  const n = readSync(fd, buffer, 0, length, position);
  if (n !== length) throw new Error(`zip: short read at ${position}`);
  return buffer;
}

/**
 * The entries of the zip file at `path`, in central directory order:
 * [{name, method, crc, compressedSize, size, dataOffset}] (`dataOffset`:
 * where the entry's data starts, past its local header). Throws when the
 * file is not a well-formed zip.
 */
export function zipEntries(path) {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    const tailLength = Math.min(fileSize, 22 + 65535);
    const tail = readAt(fd, fileSize - tailLength, tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error("zip: no end of central directory");
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locator = eocd - 20;
      if (locator < 0 || tail.readUInt32LE(locator) !== 0x07064b50) throw new Error("zip: no ZIP64 locator");
      const record = readAt(fd, Number(tail.readBigUInt64LE(locator + 8)), 56);
      if (record.readUInt32LE(0) !== 0x06064b50) throw new Error("zip: no ZIP64 end record");
      count = Number(record.readBigUInt64LE(32));
      cdSize = Number(record.readBigUInt64LE(40));
      cdOffset = Number(record.readBigUInt64LE(48));
    }
    const cd = readAt(fd, cdOffset, cdSize);
    const entries = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (cd.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip: central header ${i}`);
      const method = cd.readUInt16LE(at + 10);
      const crc = cd.readUInt32LE(at + 16);
      let compressedSize = cd.readUInt32LE(at + 20);
      let size = cd.readUInt32LE(at + 24);
      const nameLength = cd.readUInt16LE(at + 28);
      const extraLength = cd.readUInt16LE(at + 30);
      const commentLength = cd.readUInt16LE(at + 32);
      let localOffset = cd.readUInt32LE(at + 42);
      const name = cd.toString("utf8", at + 46, at + 46 + nameLength);
      // ZIP64 extra field: the 8-byte values of the fields set to 0xFFFFFFFF.
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = cd.readUInt16LE(extra);
        const length = cd.readUInt16LE(extra + 2);
        if (id === 0x0001) {
          let field = extra + 4;
          if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(field)); field += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(field)); field += 8; }
          if (localOffset === 0xffffffff) { localOffset = Number(cd.readBigUInt64LE(field)); }
        }
        extra += 4 + length;
      }
      const local = readAt(fd, localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`zip: local header of ${name}`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      entries.push({ name, method, crc, compressedSize, size, dataOffset });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}
