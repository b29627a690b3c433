#include "guards/prompt_injection_patterns.h"

namespace seraph {
namespace {

// Well-known phrasings of attempts to override a model's instructions. Each one is specific enough
// not to match ordinary text ("ignore the noise" passes; "ignore all previous instructions" does
// not). The index of a pattern is part of refusals and metrics: append, do not reorder.
constexpr std::string_view kPatterns[] = {
    // 0-3: telling the model to drop what it was told.
    R"((?i)\b(ignore|forget|skip)\s+(all\s+|any\s+|the\s+|your\s+|my\s+)*(previous|prior|above|earlier|preceding|original)\s+(instructions|prompts?|directions|rules|context))",
    R"((?i)\bdisregard\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|preceding|original)?\s*(instructions|prompts?|directions|rules|guidelines))",
    R"((?i)\boverride\s+(all\s+|the\s+|your\s+)*(safety\s+|system\s+)?(instructions|rules|guidelines|settings))",
    R"((?i)\bdo\s+not\s+follow\s+(the\s+|your\s+|any\s+)*(previous|prior|above|system)\s+(instructions|rules))",
    // 4-7: asking for the hidden instructions.
    R"((?i)\b(reveal|show|print|repeat|output|display|leak|tell\s+me)\s+(me\s+)?(your|the)\s+(system\s+|initial\s+|original\s+|hidden\s+)+(prompt|instructions|message))",
    R"((?i)\bwhat\s+(is|are|was|were)\s+your\s+(system\s+|initial\s+|original\s+|hidden\s+)+(prompt|instructions))",
    R"((?i)\bsystem\s+prompt\b)",
    R"((?i)\brepeat\s+(everything|all|the\s+text)\s+(above|before)\b)",
    // 8-12: role play that disables the rules.
    R"((?i)\byou\s+are\s+now\s+(a\s+|an\s+|in\s+)?(DAN|jailbroken|unrestricted|unfiltered|evil))",
    R"((?i)\bDAN\s+mode\b|\bdo\s+anything\s+now\b)",
    R"((?i)\b(developer|god|debug|admin|sudo)\s+mode\s+(enabled|on|activated)\b|\b(enable|activate|enter)\s+(developer|god|debug|sudo)\s+mode\b)",
    R"((?i)\b(act|respond|answer)\s+(as|like)\s+(an?\s+)?jailbroken\b)",
    R"((?i)\bpretend\s+(that\s+)?you\s+(are|have)\s+(no|not\s+bound\s+by\s+any)\s+(restrictions|rules|guidelines|filters))",
    // 13-16: claims of new authority over the model.
    R"((?i)\bnew\s+instructions\s*:)",
    R"((?i)\byour\s+new\s+(instructions|rules|task)\s+(are|is)\b)",
    R"((?i)\bfrom\s+now\s+on,?\s+you\s+(will|must|are\s+to)\s+(ignore|disregard|answer\s+without))",
    R"((?i)\bact\s+as\s+(if\s+you\s+(are|were)\s+)?(an?\s+)?(unrestricted|unfiltered|uncensored)\b)",
    // 17-20: markup that pretends to start a new system or assistant turn.
    R"((?i)<\|?\s*(im_start|im_end|system|endoftext)\s*\|?>)",
    R"((?i)\[\s*(system|INST)\s*\]|\[/INST\])",
    R"((?i)(^|\n)\s*#{2,}\s*(system|instruction)s?\s*:?)",
    R"((?i)\bbegin\s+(new\s+)?system\s+(message|instructions)\b)",
    // 21-23: asking to get around the model's own limits.
    R"((?i)\b(bypass|disable|turn\s+off|circumvent)\s+(your\s+|the\s+|all\s+)*(safety|content|moderation)\s+(filters?|guidelines|rules|checks))",
    R"((?i)\bwithout\s+(any\s+)?(ethical|moral|safety)\s+(restrictions|guidelines|limits)\b)",
    R"((?i)\brespond\s+only\s+as\s+(the\s+)?(unfiltered|uncensored)\b)",
};

}  // namespace

std::span<const std::string_view> prompt_injection_patterns() { return kPatterns; }

}  // namespace seraph
