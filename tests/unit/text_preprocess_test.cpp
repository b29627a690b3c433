#include "models/text_preprocess.h"

#include <gtest/gtest.h>

namespace seraph {
namespace {

constexpr TextPreprocessing kNone{};
constexpr TextPreprocessing kLowercase{.lowercase = true};
constexpr TextPreprocessing kPunctuation{.separate_punctuation = true};
constexpr TextPreprocessing kBoth{.lowercase = true, .separate_punctuation = true};

TEST(PreprocessText, LeavesTextUntouchedWhenOptionsAreOff) {
  EXPECT_EQ(preprocess_text("Hello, World! (Twice.)", kNone), "Hello, World! (Twice.)");
}

TEST(PreprocessText, LowercasesAsciiLetters) {
  EXPECT_EQ(preprocess_text("GREAT Phone, 10/10", kLowercase), "great phone, 10/10");
}

TEST(PreprocessText, LeavesNonAsciiBytesAlone) {
  EXPECT_EQ(preprocess_text("\xC3\x89T\xC3\x89", kLowercase), "\xC3\x89t\xC3\x89");
}

TEST(PreprocessText, SeparatesEachPunctuationMarkIntoItsOwnToken) {
  EXPECT_EQ(preprocess_text("wow!great.", kPunctuation), "wow ! great . ");
  EXPECT_EQ(preprocess_text(".,!?;:()\"", kPunctuation), " .  ,  !  ?  ;  :  (  )  \" ");
}

TEST(PreprocessText, KeepsApostrophesAndHyphensInsideWords) {
  EXPECT_EQ(preprocess_text("don't well-made", kPunctuation), "don't well-made");
}

TEST(PreprocessText, TurnsNewlinesTabsAndOtherBreaksIntoSpacesEvenWithOptionsOff) {
  EXPECT_EQ(preprocess_text("a\nb\tc\rd\ve\ff", kNone), "a b c d e f");
}

TEST(PreprocessText, CombinesLowercaseAndPunctuation) {
  EXPECT_EQ(preprocess_text("Awful!\nNEVER again.", kBoth), "awful !  never again . ");
}

TEST(PreprocessText, AppendsToWhatTheBufferAlreadyHolds) {
  std::string buffer = "kept|";
  append_preprocessed_text(buffer, "Hi!", kBoth);
  EXPECT_EQ(buffer, "kept|hi ! ");
}

}  // namespace
}  // namespace seraph
