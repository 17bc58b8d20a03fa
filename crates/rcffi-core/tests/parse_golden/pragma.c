#pragma pack(push, 1)
struct packed { char c; int i; };
#pragma pack(pop)
#pragma weird 'unterminated
int after_pragma;
