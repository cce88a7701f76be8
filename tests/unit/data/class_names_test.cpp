#include "sdn/data/class_names.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;

TEST(ClassNames, Utf8NamesPassOthersNameTheirBytes) {
  check_class_name("cat", "train/cat");
  check_class_name("\xc3\xa9l\xc3\xa9phant", "train/e");
  EXPECT_SDN_ERROR(
      check_class_name("a\xff\xfe", "train/x"),
      "train/x: the class name is not valid UTF-8 (bytes 61 ff fe)",
      "rename it");
}

TEST(ClassNames, DifferencesAreListedBothWays) {
  const std::vector<std::string> recorded = {"B", "a", "cat"};
  check_same_class_names(recorded, recorded, "d", "class folders", "them");
  EXPECT_SDN_ERROR(
      check_same_class_names(
          {"B", "a", "dog", "emu"}, recorded, "d", "class folders", "the 3"),
      "d: its 4 class folders differ from the 3 (missing 'cat'; extra 'dog', "
      "'emu')");
  EXPECT_SDN_ERROR(
      check_same_class_names({"B", "a"}, recorded, "w", "wnids", "the 3"),
      "w: its 2 wnids differ from the 3 (missing 'cat')");
  EXPECT_SDN_ERROR(
      check_same_class_names({"a", "B", "cat"}, recorded, "w", "wnids", "x"),
      "(the same names in another order)");
  std::vector<std::string> many;
  for (int i = 0; i < 8; ++i) {
    many.push_back("c" + std::to_string(i));
  }
  EXPECT_SDN_ERROR(
      check_same_class_names(many, {}, "d", "class folders", "none"),
      "extra 'c0', 'c1', 'c2', 'c3', 'c4' and 3 more");
}
