// Reading the normalised config JSON that the Java config records write (toNativeJson()).
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace clif {
namespace clipvae {

inline nlohmann::json parse_config(const char *json, int64_t len, const char *what) {
    if (json == nullptr) throw std::invalid_argument(std::string(what) + " config is NULL");
    if (len < 0) throw std::invalid_argument(std::string(what) + " config has a negative length");
    try {
        auto j = nlohmann::json::parse(std::string(json, static_cast<size_t>(len)));
        if (!j.is_object()) throw std::invalid_argument(std::string(what) + " config is not a JSON object");
        return j;
    } catch (const nlohmann::json::exception &e) {
        throw std::invalid_argument(std::string(what) + " config is not valid JSON: " + e.what());
    }
}

inline const nlohmann::json &field(const nlohmann::json &j, const std::string &name, const std::string &where) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) throw std::invalid_argument(where + " config has no '" + name + "'");
    return *it;
}

inline int64_t get_int(const nlohmann::json &j, const std::string &name, const std::string &where, int64_t min = 1) {
    const auto &v = field(j, name, where);
    if (!v.is_number_integer()) throw std::invalid_argument(where + " config: '" + name + "' is not an integer");
    int64_t x = v.get<int64_t>();
    if (x < min)
        throw std::invalid_argument(where + " config: '" + name + "' = " + std::to_string(x) + " is below " +
                                    std::to_string(min));
    return x;
}

inline double get_double(const nlohmann::json &j, const std::string &name, const std::string &where) {
    const auto &v = field(j, name, where);
    if (!v.is_number()) throw std::invalid_argument(where + " config: '" + name + "' is not a number");
    return v.get<double>();
}

inline std::string get_string(const nlohmann::json &j, const std::string &name, const std::string &where) {
    const auto &v = field(j, name, where);
    if (!v.is_string()) throw std::invalid_argument(where + " config: '" + name + "' is not a string");
    return v.get<std::string>();
}

inline bool get_bool(const nlohmann::json &j, const std::string &name, const std::string &where, bool fallback) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw std::invalid_argument(where + " config: '" + name + "' is not a boolean");
    return it->get<bool>();
}

inline std::vector<int64_t> get_ints(const nlohmann::json &j, const std::string &name, const std::string &where) {
    const auto &v = field(j, name, where);
    if (!v.is_array() || v.empty()) throw std::invalid_argument(where + " config: '" + name + "' is not a non-empty list");
    std::vector<int64_t> out;
    for (const auto &e : v) {
        if (!e.is_number_integer() || e.get<int64_t>() < 1)
            throw std::invalid_argument(where + " config: '" + name + "' must hold positive integers");
        out.push_back(e.get<int64_t>());
    }
    return out;
}

inline std::vector<std::string> get_strings(const nlohmann::json &j, const std::string &name, const std::string &where) {
    const auto &v = field(j, name, where);
    if (!v.is_array()) throw std::invalid_argument(where + " config: '" + name + "' is not a list");
    std::vector<std::string> out;
    for (const auto &e : v) {
        if (!e.is_string()) throw std::invalid_argument(where + " config: '" + name + "' must hold strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

}  // namespace clipvae
}  // namespace clif
