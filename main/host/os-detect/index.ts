/** OS detection on install media: the public entry of main/host/os-detect/. */
export { inspectIso, listPresets, parseTreeinfo, WELL_KNOWN_FILES, type InspectOptions } from './detect.js';
export { IsoImage, NotIsoError, describeLeadingBytes, type IsoVolumeInfo, type IsoDirEntry } from './iso-reader.js';
export { loadOsinfo, matchOsinfo, parseOsinfoXml, OSINFO_DIR, type OsinfoDb, type OsinfoOs } from './osinfo.js';
export { loadPresets, defaultPresetsPath, type StoredPreset } from './presets.js';
