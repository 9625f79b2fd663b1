/**
 * Code page 437 (the IBM PC's VGA font) to Unicode, for turning text-mode screens into
 * strings. Control codes 0x01-0x1F and 0x7F map to the glyphs the VGA font shows for
 * them (smileys, card suits, arrows); 0x00 and 0xFF show as spaces.
 */

/** Unicode for bytes 0x00-0x1F as drawn by the VGA font. */
const LOW = ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼';
/** Unicode for bytes 0x80-0xFF. */
const HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ' +
  'áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

/** Unicode character for each of the 256 code page 437 bytes. */
export const CP437: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  if (b < 0x20) return LOW[b]!;
  if (b === 0x7f) return '⌂';
  if (b < 0x80) return String.fromCharCode(b);
  return HIGH[b - 0x80]!;
});
