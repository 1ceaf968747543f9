// Escaping, number formatting and colours for the timeline SVG.
#include "emulator/timeline/svg_style.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace smplocal::timeline::svg {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string hsl_hex(double h, double s, double l) {
  // Standard HSL → RGB; hex output because every SVG renderer accepts it.
  const double c = (1 - std::abs(2 * l - 1)) * s;
  const double hp = std::fmod(std::fmod(h, 360.0) + 360.0, 360.0) / 60.0;
  const double x = c * (1 - std::abs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (hp < 1) {
    r = c;
    g = x;
  } else if (hp < 2) {
    r = x;
    g = c;
  } else if (hp < 3) {
    g = c;
    b = x;
  } else if (hp < 4) {
    g = x;
    b = c;
  } else if (hp < 5) {
    r = x;
    b = c;
  } else {
    r = c;
    b = x;
  }
  const double m = l - c / 2;
  auto byte = [&](double v) {
    return static_cast<int>(std::lround(std::clamp(v + m, 0.0, 1.0) * 255));
  };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(r), byte(g), byte(b));
  return buf;
}

namespace {

// Position of `mb` in its family's shade ramp, in [0, 1].
double shade(int mb, int microbatches) {
  if (microbatches <= 1) return 0.0;
  return static_cast<double>(mb % microbatches) / static_cast<double>(microbatches - 1);
}

double lightness(bool forward, int mb, int microbatches) {
  const double t = shade(mb, microbatches);
  return forward ? 0.34 + 0.30 * t : 0.40 + 0.24 * t;
}

}  // namespace

std::string box_fill(bool forward, int mb, int microbatches) {
  const double t = shade(mb, microbatches);
  // Forward: blue → cyan-blue; backward: red-orange → amber. The families never meet.
  if (forward) return hsl_hex(222 - 30 * t, 0.70, lightness(true, mb, microbatches));
  return hsl_hex(8 + 30 * t, 0.85, lightness(false, mb, microbatches));
}

std::string box_text_fill(bool forward, int mb, int microbatches) {
  return lightness(forward, mb, microbatches) < 0.56 ? "#ffffff" : "#1a1a1a";
}

double text_width(std::string_view text, double font_px) {
  // DejaVu Sans averages ~0.62 em for digits and capitals, ~0.55 em for lower case.
  double em = 0;
  for (unsigned char c : text) {
    if (c >= 0x80) {
      em += 0.3;
      continue;
    }  // UTF-8 bytes: a multi-byte glyph counts ~0.6 em overall
    em += (c >= 'a' && c <= 'z') ? 0.56 : (c == ' ' || c == '.' || c == ',') ? 0.32 : 0.64;
  }
  return em * font_px;
}

}  // namespace smplocal::timeline::svg
