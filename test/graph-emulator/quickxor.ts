/**
 * The emulator's own quickXorHash, written straight from the published description (each input
 * byte XORed into a 160-bit little-endian block at bit offset 11·i mod 160, then the 64-bit length
 * XORed into the last 8 bytes). Kept independent of the connector's implementation on purpose, so
 * the two check each other.
 */
export function emulatorQuickXor(data: Uint8Array): string {
  const block = new Uint8Array(20);
  for (let i = 0; i < data.length; i++) {
    const bit = (i * 11) % 160;
    const at = Math.floor(bit / 8);
    const shift = bit % 8;
    const v = data[i]! << shift; // up to 15 bits
    block[at] = block[at]! ^ (v & 0xff);
    block[(at + 1) % 20] = block[(at + 1) % 20]! ^ (v >> 8);
  }
  let len = BigInt(data.length);
  for (let i = 12; i < 20; i++) {
    block[i] = block[i]! ^ Number(len & 0xffn);
    len >>= 8n;
  }
  return Buffer.from(block).toString('base64');
}
