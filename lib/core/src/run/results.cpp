// The JSON of each task's result, key for key as the pipelines answer.

#include "hfjit/run/results.h"

namespace hfjit {

using ojson = nlohmann::ordered_json;

namespace {

template <typename T>
ojson json_list(const std::vector<T>& items) {
  ojson list = ojson::array();
  for (const T& item : items) list.push_back(item.to_json());
  return list;
}

}  // namespace

ojson FillMaskCandidate::to_json() const {
  ojson j;
  j["score"] = score;
  j["token"] = token;
  j["token_str"] = token_str;
  j["sequence"] = sequence;
  return j;
}

ojson FillMaskResult::to_json() const {
  if (masks.size() == 1) return json_list(masks[0]);
  ojson per_mask = ojson::array();
  for (const auto& candidates : masks) per_mask.push_back(json_list(candidates));
  return per_mask;
}

ojson ClassificationLabel::to_json() const {
  ojson j;
  j["label"] = label;
  j["score"] = score;
  return j;
}

ojson ClassificationResult::to_json() const {
  if (single_object && labels.size() == 1) return labels[0].to_json();
  return json_list(labels);
}

ojson TokenEntity::to_json() const {
  ojson j;
  j[grouped ? "entity_group" : "entity"] = entity;
  j["score"] = score;
  if (!grouped) j["index"] = index;
  j["word"] = word;
  j["start"] = start;
  j["end"] = end;
  return j;
}

ojson TokenClassificationResult::to_json() const {
  return json_list(entities);
}

ojson Answer::to_json() const {
  ojson j;
  j["score"] = score;
  j["start"] = start;
  j["end"] = end;
  j["answer"] = answer;
  return j;
}

ojson QuestionAnsweringResult::to_json() const {
  if (answers.size() == 1) return answers[0].to_json();
  return json_list(answers);
}

ojson TokenEmbeddings::to_json() const {
  ojson rows = ojson::array();
  for (const auto& token : tokens) rows.push_back(token);
  ojson j;
  j["embedding"] = std::move(rows);
  return j;
}

ojson Embedding::to_json() const {
  ojson j;
  j["embedding"] = vector;
  return j;
}

ojson Generation::to_json() const {
  ojson j;
  j["generated_text"] = generated_text;
  return ojson::array({j});
}

ojson TextToText::to_json() const {
  ojson out = ojson::array();
  for (const std::string& t : texts) {
    ojson j;
    j[key] = t;
    out.push_back(j);
  }
  return out;
}

ojson to_json(const RunResult& result) {
  return std::visit([](const auto& r) { return r.to_json(); }, result);
}

std::string to_json_line(const RunResult& result) {
  return to_json(result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hfjit
