/**
 * Key mapping for RFB input: X11 keysyms (RFC 6143 section 7.5.4 KeyEvent, values from
 * X11 keysymdef.h) to PC scan code set 1, and QEMU Extended Key Event keycodes to the
 * same codes.
 *
 * Host key codes are the i8042's: set-1 make codes, `0xE0xx` for E0-prefixed keys,
 * Pause is 0xE046 and Print Screen 0xE037 (QEMU "qnum" convention).
 *
 * Keysym table: a US (ANSI, QWERTY) layout. A keysym names a character, not a key, so
 * shifted characters map to the key that produces them on a US keyboard ('A' and 'a'
 * both to 0x1E, '!' to 0x02); the Shift state itself arrives as separate Shift keysym
 * events from the client. Consequences: with a non-US client layout, characters whose
 * key or shift state differs from US come out as the US key (use a client that sends
 * QEMU extended key events, e.g. noVNC, to avoid it), and keysyms with no US key
 * (Latin-1 accents, dead keys, other scripts) are ignored and logged.
 *
 * QEMU Extended Key Event keycodes (community RFB spec, "QEMU Extended Key Event
 * Message"): an XT make code in one byte; a two-byte code E0 xx (xx < 0x80) is sent as
 * 0x80 | xx. So 0x01-0x7F -> set-1 code, 0x80-0xFF -> 0xE000 | (code & 0x7F): 0x9C is
 * keypad Enter (E0 1C), 0xC8 Up (E0 48), 0xC6 Pause (QEMU's own number for E1 1D 45).
 * Keycode 0 (or anything above 0xFF) means "no scan code": the keysym is used instead.
 */

/** US-layout printable ASCII (0x20-0x7E) -> set-1 code. */
const ASCII_US: readonly [string, number][] = [
  ['`~', 0x29], ['1!', 0x02], ['2@', 0x03], ['3#', 0x04], ['4$', 0x05], ['5%', 0x06], ['6^', 0x07],
  ['7&', 0x08], ['8*', 0x09], ['9(', 0x0a], ['0)', 0x0b], ['-_', 0x0c], ['=+', 0x0d],
  ['qQ', 0x10], ['wW', 0x11], ['eE', 0x12], ['rR', 0x13], ['tT', 0x14], ['yY', 0x15], ['uU', 0x16],
  ['iI', 0x17], ['oO', 0x18], ['pP', 0x19], ['[{', 0x1a], [']}', 0x1b], ['\\|', 0x2b],
  ['aA', 0x1e], ['sS', 0x1f], ['dD', 0x20], ['fF', 0x21], ['gG', 0x22], ['hH', 0x23], ['jJ', 0x24],
  ['kK', 0x25], ['lL', 0x26], [';:', 0x27], ['\'"', 0x28],
  ['zZ', 0x2c], ['xX', 0x2d], ['cC', 0x2e], ['vV', 0x2f], ['bB', 0x30], ['nN', 0x31], ['mM', 0x32],
  [',<', 0x33], ['.>', 0x34], ['/?', 0x35], [' ', 0x39],
];

/** Function, modifier, cursor and keypad keysyms -> set-1 code. */
const SPECIAL: readonly [keysym: number, code: number][] = [
  [0xff08, 0x0e], // BackSpace
  [0xff09, 0x0f], // Tab
  [0xfe20, 0x0f], // ISO_Left_Tab (Shift+Tab)
  [0xff0d, 0x1c], // Return
  [0xff1b, 0x01], // Escape
  [0xff13, 0xe046], // Pause
  [0xff6b, 0xe046], // Break
  [0xff14, 0x46], // Scroll_Lock
  [0xff15, 0x54], // Sys_Req
  [0xff61, 0xe037], // Print
  [0xffff, 0xe053], // Delete
  [0xff50, 0xe047], // Home
  [0xff51, 0xe04b], // Left
  [0xff52, 0xe048], // Up
  [0xff53, 0xe04d], // Right
  [0xff54, 0xe050], // Down
  [0xff55, 0xe049], // Page_Up (Prior)
  [0xff56, 0xe051], // Page_Down (Next)
  [0xff57, 0xe04f], // End
  [0xff63, 0xe052], // Insert
  [0xff67, 0xe05d], // Menu
  [0xff7f, 0x45], // Num_Lock
  [0xff8d, 0xe01c], // KP_Enter
  [0xff95, 0x47], [0xff96, 0x4b], [0xff97, 0x48], [0xff98, 0x4d], [0xff99, 0x50], // KP_Home..KP_Down
  [0xff9a, 0x49], [0xff9b, 0x51], [0xff9c, 0x4f], [0xff9d, 0x4c], [0xff9e, 0x52], [0xff9f, 0x53],
  [0xffaa, 0x37], // KP_Multiply
  [0xffab, 0x4e], // KP_Add
  [0xffac, 0x53], // KP_Separator
  [0xffad, 0x4a], // KP_Subtract
  [0xffae, 0x53], // KP_Decimal
  [0xffaf, 0xe035], // KP_Divide
  [0xffb0, 0x52], [0xffb1, 0x4f], [0xffb2, 0x50], [0xffb3, 0x51], [0xffb4, 0x4b], // KP_0..KP_4
  [0xffb5, 0x4c], [0xffb6, 0x4d], [0xffb7, 0x47], [0xffb8, 0x48], [0xffb9, 0x49], // KP_5..KP_9
  [0xffbe, 0x3b], [0xffbf, 0x3c], [0xffc0, 0x3d], [0xffc1, 0x3e], [0xffc2, 0x3f], // F1..F5
  [0xffc3, 0x40], [0xffc4, 0x41], [0xffc5, 0x42], [0xffc6, 0x43], [0xffc7, 0x44], // F6..F10
  [0xffc8, 0x57], [0xffc9, 0x58], // F11, F12
  [0xffe1, 0x2a], // Shift_L
  [0xffe2, 0x36], // Shift_R
  [0xffe3, 0x1d], // Control_L
  [0xffe4, 0xe01d], // Control_R
  [0xffe5, 0x3a], // Caps_Lock
  [0xffe7, 0xe05b], // Meta_L (sent by some clients for the Windows key)
  [0xffe8, 0xe05c], // Meta_R
  [0xffe9, 0x38], // Alt_L
  [0xffea, 0xe038], // Alt_R
  [0xfe03, 0xe038], // ISO_Level3_Shift (AltGr)
  [0xffeb, 0xe05b], // Super_L
  [0xffec, 0xe05c], // Super_R
];

/** Keysym -> set-1 host key code, US layout. */
const KEYSYM_TO_CODE: ReadonlyMap<number, number> = (() => {
  const m = new Map<number, number>();
  for (const [chars, code] of ASCII_US) for (const ch of chars) m.set(ch.charCodeAt(0), code);
  for (const [keysym, code] of SPECIAL) m.set(keysym, code);
  return m;
})();

/** The host key code of a keysym on a US keyboard, or undefined if it has no key. */
export function keysymToScancode(keysym: number): number | undefined {
  return KEYSYM_TO_CODE.get(keysym);
}

/**
 * The host key code of a QEMU Extended Key Event keycode (see the header), or undefined
 * for 0 and values outside one byte.
 */
export function qemuKeycodeToScancode(keycode: number): number | undefined {
  if (keycode <= 0 || keycode > 0xff || keycode === 0x80) return undefined;
  return keycode < 0x80 ? keycode : 0xe000 | (keycode & 0x7f);
}
