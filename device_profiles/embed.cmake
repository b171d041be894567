# Writes OUTPUT, a C++ file defining `const char VARIABLE[]` holding INPUT's bytes.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\nnamespace partita {\nextern const char ${VARIABLE}[];\nconst char ${VARIABLE}[] = {${content} 0x00};\n}  // namespace partita\n")
