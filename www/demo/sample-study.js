// A synthetic DICOM study generated in the page, for "Try with a generated
// sample study": a newcomer without DICOM files sees the whole flow. The
// patient and every value are made up (no real person); the UIDs are random
// under the 2.25 root. Two series (CT), explicit VR little endian, Part 10,
// small 64×64 images of a gradient, plus a README.TXT the widget skips.

const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2";
const LONG_LENGTH = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

function randomUid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return `2.25.${value}`;
}

/** One data element, explicit VR little endian. `value` is a string, a number (US) or bytes. */
function element(group, elem, vr, value) {
  let bytes;
  if (typeof value === "number") {
    bytes = new Uint8Array(2);
    new DataView(bytes.buffer).setUint16(0, value, true);
  } else if (typeof value === "string") {
    const text = new TextEncoder().encode(value);
    bytes = new Uint8Array(text.length + (text.length % 2));
    bytes.set(text);
    if (text.length % 2) bytes[text.length] = vr === "UI" ? 0 : 0x20;
  } else {
    bytes = value;
  }
  const long = LONG_LENGTH.has(vr);
  const head = new Uint8Array(long ? 12 : 8);
  const view = new DataView(head.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elem, true);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, bytes.length, true);
  else view.setUint16(6, bytes.length, true);
  return [head, bytes];
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function instance({ study, series, seriesNumber, number, seriesDescription }) {
  const sop = randomUid();
  const metaBody = concat([
    ...element(0x0002, 0x0001, "OB", new Uint8Array([0, 1])),
    ...element(0x0002, 0x0002, "UI", CT_IMAGE),
    ...element(0x0002, 0x0003, "UI", sop),
    ...element(0x0002, 0x0010, "UI", EXPLICIT_LE),
    ...element(0x0002, 0x0012, "UI", "2.25.1"),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, metaBody.length, true);
  const pixels = new Uint8Array(64 * 64 * 2);
  const view = new DataView(pixels.buffer);
  for (let i = 0; i < 64 * 64; i++) view.setUint16(i * 2, ((i % 64) + Math.floor(i / 64) + number * 8) * 8, true);
  const data = [
    element(0x0008, 0x0016, "UI", CT_IMAGE),
    element(0x0008, 0x0018, "UI", sop),
    element(0x0008, 0x0020, "DA", "20240131"),
    element(0x0008, 0x0030, "TM", "101500"),
    element(0x0008, 0x0060, "CS", "CT"),
    element(0x0008, 0x0080, "LO", "Synthetic Hospital"),
    element(0x0008, 0x1030, "LO", "CT CHEST (sample)"),
    element(0x0008, 0x103e, "LO", seriesDescription),
    element(0x0010, 0x0010, "PN", "Sample^Pat"),
    element(0x0010, 0x0020, "LO", "SAMPLE-0001"),
    element(0x0010, 0x0030, "DA", "19800101"),
    element(0x0010, 0x0040, "CS", "O"),
    element(0x0020, 0x000d, "UI", study),
    element(0x0020, 0x000e, "UI", series),
    element(0x0020, 0x0011, "IS", String(seriesNumber)),
    element(0x0020, 0x0013, "IS", String(number)),
    element(0x0028, 0x0002, "US", 1),
    element(0x0028, 0x0004, "CS", "MONOCHROME2"),
    element(0x0028, 0x0010, "US", 64),
    element(0x0028, 0x0011, "US", 64),
    element(0x0028, 0x0100, "US", 16),
    element(0x0028, 0x0101, "US", 12),
    element(0x0028, 0x0102, "US", 11),
    element(0x0028, 0x0103, "US", 0),
    element(0x7fe0, 0x0010, "OW", pixels),
  ].flat();
  return concat([
    new Uint8Array(128),
    new TextEncoder().encode("DICM"),
    ...element(0x0002, 0x0000, "UL", groupLength),
    metaBody,
    ...data,
  ]);
}

/** The sample study as `File`s (`perSeries` images in each of 2 series, 5
 * by default, and a README). */
export function sampleStudyFiles({ perSeries = 5 } = {}) {
  const study = randomUid();
  const files = [];
  for (const [seriesNumber, seriesDescription] of [[1, "Axial"], [2, "Coronal"]]) {
    const series = randomUid();
    for (let number = 1; number <= perSeries; number++) {
      const bytes = instance({ study, series, seriesNumber, number, seriesDescription });
      const name = `IM${seriesNumber}${String(number).padStart(4, "0")}`;
      files.push(new File([bytes], name, { type: "application/dicom" }));
    }
  }
  files.push(new File(["A sample study made up by the auraloader demo page.\n"], "README.TXT", { type: "text/plain" }));
  return files;
}
