// Code points, not UTF-16 units: spread iterates by code point.
function measure(s) {
  return [s, [...s].length];
}
