// Attention-polynomial parser and structure tests (see sim/poly_polynomial.hpp; Chakrabarti,
// Pitassi, Alman, arXiv 2602.02422; research note polyattention.md 1.1, 2.4, 3.4).
#include "sim/kernels/poly_polynomial.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>

namespace attnflow {

int Polynomial::degree() const {
  int k = 0;
  for (const auto& m : monos) k = std::max(k, static_cast<int>(m.size()));
  return k;
}

bool Polynomial::uses(int var) const {
  for (const auto& m : monos)
    if (std::find(m.begin(), m.end(), var) != m.end()) return true;
  return false;
}

bool Polynomial::is_tensor() const {
  return monos.size() == 1 && static_cast<int>(monos[0].size()) == t;
}

namespace {
int find_root(std::vector<int>& p, int a) {
  while (p[a] != a) a = p[a] = p[p[a]];
  return a;
}
}  // namespace

bool Polynomial::is_forest() const {
  if (degree() != 2) return false;
  std::vector<int> parent(t);
  std::iota(parent.begin(), parent.end(), 0);
  for (const auto& m : monos) {
    const int a = find_root(parent, m[0]), b = find_root(parent, m[1]);
    if (a == b) return false;
    parent[a] = b;
  }
  return true;
}

bool Polynomial::is_cycle() const {
  if (degree() != 2 || t < 3 || size() != t) return false;
  std::vector<int> deg(t, 0);
  for (const auto& m : monos) {
    if (m.size() != 2) return false;
    ++deg[m[0]];
    ++deg[m[1]];
  }
  for (int v : deg)
    if (v != 2) return false;
  return static_cast<int>(cycle_order().size()) == t;  // connected
}

std::vector<int> Polynomial::cycle_order() const {
  std::vector<int> order{0};
  int prev = -1, cur = 0;
  for (int step = 0; step < t; ++step) {
    int next = -1;
    for (const auto& m : monos) {
      if (m.size() != 2) continue;
      int other = m[0] == cur ? m[1] : (m[1] == cur ? m[0] : -1);
      if (other >= 0 && other != prev) { next = other; break; }
    }
    if (next < 0 || next == 0) break;
    order.push_back(next);
    prev = cur;
    cur = next;
  }
  return order;
}

std::string Polynomial::str() const {
  std::string s;
  for (std::size_t i = 0; i < monos.size(); ++i) {
    if (i) s += " + ";
    for (std::size_t j = 0; j < monos[i].size(); ++j) {
      if (j) s += "*";
      s += 'x';
      s += std::to_string(monos[i][j] + 1);
    }
  }
  return s;
}

Polynomial parse_polynomial(const std::string& text) {
  Polynomial p;
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto col = [&](std::size_t at) { return static_cast<int>(at) + 1; };
  auto fail = [&](std::size_t at, const std::string& msg) -> PolyParseError {
    return PolyParseError{msg, col(at)};
  };
  auto skip = [&] { while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  std::set<std::vector<int>> seen;
  skip();
  if (i == n) throw fail(0, "is empty; write e.g. \"x1*x2 + x2*x3\"");
  for (;;) {
    skip();
    const std::size_t mono_start = i;
    std::vector<int> mono;
    for (;;) {
      skip();
      if (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) {
        std::size_t j = i;
        while (j < n && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
        const std::string num = text.substr(i, j - i);
        if (num != "1")
          throw fail(i, "coefficient " + num +
                            " is not allowed: attention polynomials have 0/1 coefficients "
                            "(fold a scale into a projection instead)");
        i = j;
        skip();
        if (i >= n || text[i] != '*') throw fail(i, "expected '*' after the coefficient 1");
        ++i;
        skip();
      }
      if (i < n && text[i] == '-') throw fail(i, "negative coefficients are not allowed (0/1 only)");
      if (i >= n || (text[i] != 'x' && text[i] != 'X'))
        throw fail(i, "expected a variable x1, x2, ...");
      ++i;
      std::size_t j = i;
      while (j < n && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j == i) throw fail(i, "expected a variable number after 'x' (x1, x2, ...)");
      if (j - i > 3) throw fail(i, "variable number too large");
      const int v = std::stoi(text.substr(i, j - i));
      if (v < 1) throw fail(i, "variables are numbered from 1 (x1 is the query variable)");
      if (std::find(mono.begin(), mono.end(), v - 1) != mono.end()) {
        std::string name(1, 'x');
        name += std::to_string(v);
        throw fail(i - 1, name + " appears twice in one monomial: h must be multilinear");
      }
      mono.push_back(v - 1);
      i = j;
      skip();
      if (i < n && text[i] == '^') throw fail(i, "powers are not allowed: h must be multilinear");
      if (i < n && text[i] == '*') { ++i; continue; }
      break;
    }
    if (mono.size() < 2)
      throw fail(mono_start, "monomial of degree 1: every monomial needs degree >= 2");
    std::sort(mono.begin(), mono.end());
    if (!seen.insert(mono).second)
      throw fail(mono_start, "monomial repeated (coefficient 2): coefficients must be 0/1");
    p.t = std::max(p.t, mono.back() + 1);
    p.monos.push_back(mono);
    skip();
    if (i == n) break;
    if (text[i] == '-') throw fail(i, "negative coefficients are not allowed (0/1 only)");
    if (text[i] != '+') throw fail(i, std::string("unexpected character '") + text[i] + "'");
    ++i;
  }
  return p;
}

Polynomial path_polynomial(int r) {
  Polynomial p;
  p.t = r + 1;
  for (int s = 0; s < r; ++s) p.monos.push_back({s, s + 1});
  return p;
}

Polynomial cycle_polynomial(int t) {
  Polynomial p = path_polynomial(t - 1);
  p.monos.push_back({0, t - 1});
  return p;
}

Polynomial tensor_polynomial(int t) {
  Polynomial p;
  p.t = t;
  p.monos.push_back({});
  for (int j = 0; j < t; ++j) p.monos[0].push_back(j);
  return p;
}

}  // namespace attnflow
