#pragma once
// SVG building blocks for the timeline picture: XML escaping, fixed-precision numbers (so the
// same input gives byte-identical output) and the colour scheme (forward = blues, backward =
// oranges, one shade per microbatch).

#include <string>
#include <string_view>

namespace smplocal::timeline::svg {

// Escapes &, <, >, " and ' for text content and attribute values.
std::string escape(std::string_view text);

// `value` with `decimals` digits after the point, "-0.00" normalised to "0.00".
std::string num(double value, int decimals = 2);

// "#rrggbb" of an HSL colour (h in degrees, s and l in [0, 1]).
std::string hsl_hex(double h, double s, double l);

// Fill of microbatch `mb` of `microbatches` in its family; `forward` picks blues vs oranges.
std::string box_fill(bool forward, int mb, int microbatches);

// Text colour readable on box_fill(forward, mb, microbatches).
std::string box_text_fill(bool forward, int mb, int microbatches);

// Approximate rendered width in px of `text` at `font_px` in DejaVu Sans (the font librsvg and
// browsers fall back to here); used to decide whether a label fits in its box.
double text_width(std::string_view text, double font_px);

}  // namespace smplocal::timeline::svg
