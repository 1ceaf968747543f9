// The SVG picture: parses as XML, has the expected lanes, boxes, labels and title, is
// deterministic, and rsvg-convert turns it into a PNG of the declared size.
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "emulator/timeline/svg_render.h"
#include "tests/emulator/timeline/pipeline_sim.h"
#include "tests/emulator/timeline/spawn.h"
#include "tests/emulator/timeline/temp_dir.h"

using namespace smplocal::timeline;
using namespace smplocal::timeline::testing;
using Catch::Matchers::ContainsSubstring;

namespace {

bool has_class(const pugi::xml_node& n, const std::string& cls) {
  std::istringstream words(n.attribute("class").as_string());
  for (std::string w; words >> w;)
    if (w == cls) return true;
  return false;
}

std::vector<pugi::xml_node> by_class(const pugi::xml_node& root, const std::string& cls) {
  std::vector<pugi::xml_node> out;
  for (pugi::xpath_node x : root.select_nodes("//*[@class]"))
    if (has_class(x.node(), cls)) out.push_back(x.node());
  return out;
}

std::vector<pugi::xml_node> children_by_class(const pugi::xml_node& parent,
                                              const std::string& cls) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node n : parent.children())
    if (has_class(n, cls)) out.push_back(n);
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian).
std::pair<unsigned, unsigned> png_size(const std::string& png) {
  REQUIRE(png.size() > 24);
  REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  auto be32 = [&](std::size_t at) {
    unsigned v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("SVG has one lane per rank, one box per F/B, labels and the bubble title",
          "[timeline][unit]") {
  const int p = GENERATE(2, 4);
  const int m = GENERATE(4, 8);
  const std::string pipeline = GENERATE(std::string("simple"), std::string("interleaved"));
  CAPTURE(p, m, pipeline);
  TempDir dir;
  SimConfig c;
  c.pp_size = p;
  c.microbatches = m;
  c.dp_size = 2;
  c.pipeline = pipeline;
  c.comm_us = 30;
  c.steps = 2;
  write_traces(c, dir.path());
  const auto traces = load_rank_traces(dir.path());
  const auto out = dir.path() / "timeline.svg";
  const TimelineSummary s = render_svg(traces, out);

  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_file(out.c_str());
  INFO(parsed.description());
  REQUIRE(parsed);
  const pugi::xml_node svg = doc.child("svg");
  REQUIRE(svg);
  CHECK(std::string(svg.attribute("xmlns").as_string()) == "http://www.w3.org/2000/svg");
  CHECK(svg.attribute("data-step").as_int() == 1);

  // Self-contained: no external references of any kind.
  const std::string text = read(out);
  CHECK(text.find("href") == std::string::npos);
  CHECK(text.find("<script") == std::string::npos);
  CHECK(text.find("@import") == std::string::npos);
  CHECK(text.find("url(http") == std::string::npos);

  const auto titles = by_class(svg, "title");
  REQUIRE(titles.size() == 1);
  const std::string title = titles[0].text().as_string();
  CHECK_THAT(title,
             ContainsSubstring("p=" + std::to_string(p)) &&
                 ContainsSubstring("m=" + std::to_string(m)) &&
                 ContainsSubstring(pipeline + " schedule") && ContainsSubstring("measured") &&
                 ContainsSubstring("theoretical (p−1)/(m+p−1)") && ContainsSubstring("step 1"));
  char theo[32];
  std::snprintf(theo, sizeof theo, "%.1f%%", 100.0 * (p - 1) / (m + p - 1));
  CHECK_THAT(title, ContainsSubstring(theo));

  // Lanes in (pp, dp) order, labelled host · stage · replica.
  const auto lanes = by_class(svg, "lane");
  REQUIRE(lanes.size() == static_cast<std::size_t>(p * 2));
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    const int pp = static_cast<int>(i) / 2, dp = static_cast<int>(i) % 2;
    CHECK(lanes[i].attribute("data-pp").as_int() == pp);
    CHECK(lanes[i].attribute("data-dp").as_int() == dp);
    CHECK(lanes[i].attribute("data-rank").as_int() == dp * p + pp);  // cluster placement
    const auto label = children_by_class(lanes[i], "lane-label");
    REQUIRE(label.size() == 1);
    CHECK(std::string(label[0].text().as_string()) ==
          "algo-1 · stage " + std::to_string(pp) + " · dp " + std::to_string(dp));
    CHECK(children_by_class(lanes[i], "lane-bg").size() == 1);
    CHECK(has_class(children_by_class(lanes[i], "lane-bg")[0], "idle"));

    const auto fwd = children_by_class(lanes[i], "forward");
    const auto bwd = children_by_class(lanes[i], "backward");
    REQUIRE(fwd.size() == static_cast<std::size_t>(m));
    REQUIRE(bwd.size() == static_cast<std::size_t>(m));
    std::set<int> fmb, bmb;
    std::set<std::string> ffill, bfill;
    for (const auto& b : fwd) {
      CHECK(has_class(b, "box"));
      fmb.insert(b.attribute("data-mb").as_int());
      ffill.insert(b.attribute("fill").as_string());
      CHECK(b.attribute("width").as_double() > 0);
    }
    for (const auto& b : bwd)
      bmb.insert(b.attribute("data-mb").as_int()), bfill.insert(b.attribute("fill").as_string());
    CHECK(fmb.size() == static_cast<std::size_t>(m));
    CHECK(bmb.size() == static_cast<std::size_t>(m));
    for (const auto& f : ffill) CHECK(bfill.count(f) == 0);  // distinct colour families
    // Every box in a 1200 px picture is wide enough for its microbatch number.
    const auto labels = children_by_class(lanes[i], "box-label");
    CHECK(labels.size() == static_cast<std::size_t>(2 * m));
    // Stages pass activations and gradients: comm bars present (first stage sends, last receives).
    CHECK(!children_by_class(lanes[i], "comm").empty());
    CHECK(lanes[i].attribute("data-idle").as_double() ==
          Catch::Approx(s.stages[i].idle_fraction).margin(1e-4));
  }

  CHECK(by_class(svg, "axis").size() == 1);
  CHECK(by_class(svg, "tick").size() >= 4);
  CHECK(by_class(svg, "legend").size() == 1);
  CHECK(svg.attribute("data-measured-bubble").as_double() ==
        Catch::Approx(s.measured_bubble).margin(1e-4));
}

TEST_CASE("SVG output is deterministic and escapes host names", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.jitter = 0.3;
  c.comm_us = 25;
  auto docs = simulate_traces(c);
  docs[0]["metadata"]["host"] = "algo-1 <&\"'>";
  for (std::size_t r = 0; r < docs.size(); ++r)
    std::ofstream(dir.path() / ("trace-rank" + std::to_string(r) + ".json")) << docs[r].dump();
  const auto traces = load_rank_traces(dir.path());
  render_svg(traces, dir.path() / "a.svg");
  render_svg(load_rank_traces(dir.path()), dir.path() / "b.svg");
  CHECK(read(dir.path() / "a.svg") == read(dir.path() / "b.svg"));

  pugi::xml_document doc;
  REQUIRE(doc.load_file((dir.path() / "a.svg").c_str()));
  const auto labels = by_class(doc.child("svg"), "lane-label");
  REQUIRE(labels.size() == 2);
  CHECK(std::string(labels[0].text().as_string()) == "algo-1 <&\"'> · stage 0 · dp 0");
}

TEST_CASE("narrow boxes drop their label instead of overflowing", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 4;
  c.microbatches = 64;
  c.fwd_us = 100;
  c.bwd_us = 200;
  write_traces(c, dir.path());
  const auto traces = load_rank_traces(dir.path());
  const auto svg_text_out = svg_text(analyze_step(traces), SvgOptions{.width = 700});
  pugi::xml_document doc;
  REQUIRE(doc.load_string(svg_text_out.c_str()));
  const auto boxes = by_class(doc.child("svg"), "box");
  const auto labels = by_class(doc.child("svg"), "box-label");
  CHECK(boxes.size() == 4u * 2u * 64u);
  CHECK(labels.size() < boxes.size());
}

TEST_CASE("rsvg-convert renders the SVG to a PNG of the declared size", "[timeline][unit]") {
  TempDir dir;
  SimConfig c;
  c.pp_size = 2;
  c.dp_size = 2;
  c.microbatches = 4;
  c.pipeline = "interleaved";
  c.comm_us = 50;
  write_traces(c, dir.path());
  const auto svg_path = dir.path() / "timeline.svg", png_path = dir.path() / "timeline.png";
  render_svg(load_rank_traces(dir.path()), svg_path);

  const int rc = run_program(
      {"rsvg-convert", "--format=png", "--output", png_path.string(), svg_path.string()});
  if (rc == -1)
    SKIP(
        "rsvg-convert is not installed (Debian package librsvg2-bin; scripts/install-deps.sh "
        "installs it)");
  REQUIRE(rc == 0);

  pugi::xml_document doc;
  REQUIRE(doc.load_file(svg_path.c_str()));
  const unsigned w = doc.child("svg").attribute("width").as_uint();
  const unsigned h = doc.child("svg").attribute("height").as_uint();
  const auto [pw, ph] = png_size(read(png_path));
  CHECK(pw == w);
  CHECK(ph == h);
  CHECK(w == 1200u);
  CHECK(h > 100u);
}
