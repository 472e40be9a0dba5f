// Package filereader is the "file_reader" inbound client: it replays
// recorded data from a file, or standard input, in the file writer's
// framings. Register Client (runtime/builtin does) to name it in the
// settings; NewSource builds one by hand.
package filereader
