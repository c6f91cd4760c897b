// The route table (routes.h) and the clif_routes_* exports that dump, load and override it.
#include "routes.h"

#include <torch/csrc/autograd/autograd.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "common.h"

namespace clif::routes {

namespace {

constexpr size_t kMaxDims = 7;

struct OpInfo {
    Op op;
    const char *name;
    std::array<const char *, 2> routes;
    size_t ndims;
    std::array<const char *, kMaxDims> dims;
};

// The names are the text format's and the override's vocabulary: renaming one orphans saved tables.
constexpr std::array<OpInfo, 4> kOps{{
    {Op::Attention, "attention", {"fused", "matmul"}, 5, {"B", "heads", "S", "T", "head_dim"}},
    {Op::Conv, "conv", {"onednn", "blas"}, 7, {"n", "in", "out", "h", "w", "kernel", "stride"}},
    {Op::Conv1x1, "conv1x1", {"onednn", "blas"}, 5, {"n", "in", "out", "h", "w"}},
    {Op::Dense, "dense", {"onednn", "blas"}, 3, {"rows", "in", "out"}},
}};

const OpInfo &info(Op op) {
    for (const OpInfo &i : kOps)
        if (i.op == op) return i;
    throw std::logic_error("unknown route op");
}

const OpInfo *find_op(const std::string &name) {
    for (const OpInfo &i : kOps)
        if (name == i.name) return &i;
    return nullptr;
}

bool has_route(const OpInfo &op, const std::string &route) {
    return std::any_of(op.routes.begin(), op.routes.end(), [&](const char *r) { return route == r; });
}

std::string route_names(const OpInfo &op) {
    std::string s;
    for (const char *r : op.routes) s += (s.empty() ? "" : "|") + std::string(r);
    return s;
}

// A problem: compared as numbers on every call (no string is built unless a decision is printed or dumped).
struct Key {
    Op op;
    std::array<int64_t, kMaxDims> dims{};
    at::ScalarType dtype;
    int64_t threads;
    bool backward = false;  // timed forward + backward: autograd will differentiate the call
    bool operator<(const Key &o) const {
        return std::tie(op, dims, dtype, threads, backward) < std::tie(o.op, o.dims, o.dtype, o.threads, o.backward);
    }
};

struct Entry {
    std::string winner;
    std::vector<std::pair<std::string, double>> times_ms;  // every candidate's median, in candidate order
};

std::mutex table_mutex;
std::map<Key, Entry> table;  // ordered, so that a dump is stable
// Per op (kOps order): "" = calibrate, else the forced route's name. Guarded by table_mutex.
std::array<std::string, kOps.size()> forced;

size_t op_slot(Op op) { return static_cast<size_t>(&info(op) - kOps.data()); }

const char *dtype_name(at::ScalarType t) {
    switch (t) {
        case at::kFloat: return "f32";
        case at::kHalf: return "f16";
        case at::kBFloat16: return "bf16";
        case at::kDouble: return "f64";
        default: return c10::toString(t);
    }
}

bool parse_dtype(const std::string &s, at::ScalarType &out) {
    for (at::ScalarType t : {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble}) {
        if (s == dtype_name(t)) {
            out = t;
            return true;
        }
    }
    return false;
}

std::string key_text(const Key &k) {
    const OpInfo &op = info(k.op);
    std::string text = op.name;
    for (size_t i = 0; i < op.ndims; i++) text += std::string(" ") + op.dims[i] + "=" + std::to_string(k.dims[i]);
    return text + " " + dtype_name(k.dtype) + " t=" + std::to_string(k.threads) + (k.backward ? " backward" : "");
}

std::string format_ms(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", ms);
    return buf;
}

// Sum of the timed calls per key stays near this budget: enough repetitions to take a median on small
// problems, and a single call per route where one call already takes this long (SD-1.5's 4096-token attention).
constexpr double kBudgetMs = 30.0;
constexpr int kMaxReps = 5;

double time_once(const Route &r, at::Tensor &out, const std::vector<at::Tensor> &grad_inputs) {
    auto start = std::chrono::steady_clock::now();
    out = r.run();
    if (!grad_inputs.empty()) {
        torch::autograd::grad({out}, grad_inputs, {at::ones_like(out)}, false, false, true);
        out = at::Tensor();
    }
    auto end = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::milli>(end - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Medians of each candidate's timed calls; `outputs` keeps each one's last output.
// grad_inputs: empty for a forward-only call (timed with autograd off), else what the backward differentiates.
std::vector<double> calibrate(c10::ArrayRef<Route> candidates, std::vector<at::Tensor> &outputs,
                              const std::vector<at::Tensor> &grad_inputs) {
    c10::optional<at::NoGradGuard> no_grad;
    if (grad_inputs.empty()) no_grad.emplace();
    const size_t n = candidates.size();
    outputs.assign(n, at::Tensor());
    std::vector<double> warm(n);
    for (size_t i = 0; i < n; i++) warm[i] = time_once(candidates[i], outputs[i], grad_inputs);
    double total = 0, slowest = 0;
    for (double w : warm) {
        total += w;
        slowest = std::max(slowest, w);
    }
    // Calls this long are dominated by arithmetic, not by the first call's set-up: the warm-up is the figure.
    if (slowest >= kBudgetMs) return warm;
    const int reps = std::clamp(static_cast<int>(kBudgetMs / std::max(total, 1e-3)), 1, kMaxReps);
    std::vector<std::vector<double>> samples(n);
    // Interleaved, so that a slow spell of the machine (another process) hits every candidate alike.
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++) samples[i].push_back(time_once(candidates[i], outputs[i], grad_inputs));
    std::vector<double> medians(n);
    for (size_t i = 0; i < n; i++) medians[i] = median(samples[i]);
    return medians;
}

size_t index_of(c10::ArrayRef<Route> candidates, const std::string &name) {
    for (size_t i = 0; i < candidates.size(); i++)
        if (name == candidates[i].name) return i;
    return candidates.size();
}

std::string trim(const std::string &s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep)) parts.push_back(part);
    if (!s.empty() && s.back() == sep) parts.push_back("");
    return parts;
}

bool parse_int(const std::string &s, int64_t &out) {
    if (s.empty() || s.size() > 18) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    out = std::stoll(s);
    return true;
}

// One dumped line -> (key, entry); throws with what is wrong.
std::pair<Key, Entry> parse_line(const std::string &line) {
    std::vector<std::string> fields = split(line, '\t');
    check_arg(fields.size() >= 3, "expected '<key>\\t<winner>\\t<route>=<ms>...', got " +
                                      std::to_string(fields.size()) + " tab-separated field(s)");
    const std::string &text = fields[0];
    std::vector<std::string> words = split(text, ' ');
    const bool backward = !words.empty() && words.back() == "backward";
    if (backward) words.pop_back();
    check_arg(words.size() >= 3, "key '" + text + "' is not '<op> <dim>=<n>... <dtype> t=<threads> [backward]'");
    const OpInfo *op = find_op(words[0]);
    check_arg(op != nullptr, "unknown op '" + words[0] + "' (known: attention, conv, conv1x1, dense)");
    Key key{op->op, {}, at::kFloat, 0, backward};
    const size_t ndims = words.size() - 3;
    for (size_t i = 0; i < ndims; i++) {
        const std::string &w = words[i + 1];
        const size_t eq = w.find('=');
        int64_t v = 0;
        check_arg(eq != std::string::npos && eq > 0 && parse_int(w.substr(eq + 1), v),
                  "key '" + text + "': '" + w + "' is not <dim>=<size>");
        if (i < kMaxDims) key.dims[i] = v;
    }
    check_arg(parse_dtype(words[words.size() - 2], key.dtype),
              "key '" + text + "': unknown dtype '" + words[words.size() - 2] + "'");
    const std::string &t = words.back();
    check_arg(t.rfind("t=", 0) == 0 && parse_int(t.substr(2), key.threads) && key.threads > 0,
              "key '" + text + "': '" + t + "' is not t=<threads>");
    bool names_match = ndims == op->ndims;
    for (size_t i = 0; names_match && i < ndims; i++)
        names_match = words[i + 1].substr(0, words[i + 1].find('=')) == op->dims[i];
    std::string expected;
    for (size_t i = 0; i < op->ndims; i++) expected += std::string(i == 0 ? "" : " ") + op->dims[i] + "=<n>";
    check_arg(names_match, "key '" + text + "': " + op->name + " takes " + expected);
    Entry e;
    e.winner = fields[1];
    check_arg(has_route(*op, e.winner), "unknown route '" + e.winner + "' for " + op->name + " (use " +
                                            route_names(*op) + ")");
    for (size_t i = 2; i < fields.size(); i++) {
        const size_t eq = fields[i].find('=');
        check_arg(eq != std::string::npos, "'" + fields[i] + "' is not <route>=<ms>");
        const std::string route = fields[i].substr(0, eq), value = fields[i].substr(eq + 1);
        check_arg(has_route(*op, route), "unknown route '" + route + "' for " + op->name);
        char *end = nullptr;
        const double ms = std::strtod(value.c_str(), &end);
        check_arg(!value.empty() && end == value.c_str() + value.size() && ms >= 0 && std::isfinite(ms),
                  "'" + fields[i] + "': '" + value + "' is not a time in ms");
        e.times_ms.emplace_back(route, ms);
    }
    return {key, e};
}

std::string dump_text() {
    std::lock_guard<std::mutex> lock(table_mutex);
    std::string out;
    for (const auto &[key, e] : table) {
        out += key_text(key) + "\t" + e.winner;
        for (const auto &[route, ms] : e.times_ms) out += "\t" + route + "=" + format_ms(ms);
        out += "\n";
    }
    return out;
}

}  // namespace

Choice choose(Op op, std::initializer_list<int64_t> dims, at::ScalarType dtype, c10::ArrayRef<Route> candidates,
              std::initializer_list<at::Tensor> inputs) {
    check_arg(!candidates.empty(), std::string(info(op).name) + ": no valid route");
    if (candidates.size() == 1) return {0, {}};
    check_arg(dims.size() == info(op).ndims, std::string(info(op).name) + ": wrong number of key sizes");
    std::vector<at::Tensor> grad_inputs;
    if (at::GradMode::is_enabled())
        for (const at::Tensor &t : inputs)
            if (t.defined() && t.requires_grad()) grad_inputs.push_back(t);
    Key key{op, {}, dtype, at::get_num_threads(), !grad_inputs.empty()};
    std::copy(dims.begin(), dims.end(), key.dims.begin());
    {
        std::lock_guard<std::mutex> lock(table_mutex);
        const std::string &force = forced[op_slot(op)];
        // A forced route that is not valid for this call (the fused kernel under autograd) leaves the valid one.
        if (!force.empty()) {
            const size_t i = index_of(candidates, force);
            return {i < candidates.size() ? i : 0, {}};
        }
        auto it = table.find(key);
        if (it != table.end()) {
            const size_t i = index_of(candidates, it->second.winner);
            if (i < candidates.size()) return {i, {}};
        }
    }
    // Timed without the lock: another thread may time the same key meanwhile, which costs only time.
    const bool grad = at::GradMode::is_enabled();
    std::vector<at::Tensor> outputs;
    const std::vector<double> ms = calibrate(candidates, outputs, grad_inputs);
    const size_t best = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
    Entry e;
    e.winner = candidates[best].name;
    for (size_t i = 0; i < candidates.size(); i++) e.times_ms.emplace_back(candidates[i].name, ms[i]);
    bool inserted;
    std::string kept;
    {
        std::lock_guard<std::mutex> lock(table_mutex);
        auto [it, fresh] = table.emplace(key, e);
        inserted = fresh;
        kept = it->second.winner;
    }
    // Another thread timed the same key first: its decision holds for this call too, so that every call of a
    // shape runs the same kernel (and rounds alike) however the timings raced.
    size_t chosen = index_of(candidates, kept);
    if (chosen >= candidates.size()) chosen = best;
    if (inserted) {
        std::string line = "clif routes: " + key_text(key) + ":";
        for (size_t i = 0; i < candidates.size(); i++)
            line += std::string(i == 0 ? " " : ", ") + candidates[i].name + " " + format_ms(ms[i]) + " ms";
        line += std::string(" -> ") + e.winner + "\n";
        std::fputs(line.c_str(), stderr);
    }
    // Computed with autograd off: the same tensor the caller would get only when the caller has it off too.
    return {chosen, grad ? at::Tensor() : outputs[chosen]};
}

}  // namespace clif::routes

extern "C" {

int32_t clif_routes_dump(char *buf, int64_t capacity, int64_t *out_len) {
    return clif::guard(__func__, [&] {
        const std::string text = clif::routes::dump_text();
        *clif::not_null(out_len, "out_len") = static_cast<int64_t>(text.size());
        if (buf != nullptr && capacity > 0)
            std::memcpy(buf, text.data(), std::min<size_t>(text.size(), static_cast<size_t>(capacity)));
    });
}

int32_t clif_routes_load(const char *text, int64_t len, int64_t *out_count) {
    using namespace clif::routes;
    return clif::guard(__func__, [&] {
        clif::check_arg(len >= 0 && (len == 0 || text != nullptr), "text is NULL or len is negative");
        const std::string all(text == nullptr ? "" : text, static_cast<size_t>(len));
        std::vector<std::pair<Key, Entry>> parsed;
        std::vector<std::string> lines = split(all, '\n');
        for (size_t i = 0; i < lines.size(); i++) {
            std::string line = lines[i];
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (trim(line).empty() || trim(line)[0] == '#') continue;
            try {
                parsed.push_back(parse_line(line));
            } catch (const std::exception &e) {
                throw std::invalid_argument("line " + std::to_string(i + 1) + ": " + e.what());
            }
        }
        {
            std::lock_guard<std::mutex> lock(table_mutex);
            for (auto &[key, e] : parsed) table[key] = std::move(e);
        }
        if (out_count != nullptr) *out_count = static_cast<int64_t>(parsed.size());
    });
}

int32_t clif_routes_clear(void) {
    using namespace clif::routes;
    return clif::guard(__func__, [&] {
        std::lock_guard<std::mutex> lock(table_mutex);
        table.clear();
    });
}

int32_t clif_routes_set_override(const char *spec, int64_t len) {
    using namespace clif::routes;
    return clif::guard(__func__, [&] {
        clif::check_arg(len >= 0 && (len == 0 || spec != nullptr), "spec is NULL or len is negative");
        const std::string text(spec == nullptr ? "" : spec, static_cast<size_t>(len));
        std::array<std::string, kOps.size()> next;
        for (const std::string &raw : split(text, ',')) {
            const std::string token = trim(raw);
            if (token.empty()) continue;
            const size_t eq = token.find('=');
            clif::check_arg(eq != std::string::npos, "'" + token + "' is not <op>=<route> (e.g. dense=blas)");
            const std::string name = trim(token.substr(0, eq)), route = trim(token.substr(eq + 1));
            const OpInfo *op = find_op(name);
            clif::check_arg(op != nullptr, "'" + token + "': unknown op '" + name + "' (use attention, conv, conv1x1 or dense)");
            clif::check_arg(route == "calibrate" || has_route(*op, route),
                            "'" + token + "': unknown route '" + route + "' for " + name + " (use " + route_names(*op) + "|calibrate)");
            next[static_cast<size_t>(op - kOps.data())] = route == "calibrate" ? "" : route;
        }
        std::lock_guard<std::mutex> lock(table_mutex);
        forced = next;
    });
}

}
