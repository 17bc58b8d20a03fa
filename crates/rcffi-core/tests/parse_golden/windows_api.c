typedef void *HANDLE;
typedef unsigned long DWORD;
typedef int BOOL;
typedef const wchar_t *LPCWSTR;
typedef DWORD (WINAPI *LPTHREAD_START_ROUTINE)(void *lpThreadParameter);
HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          void *lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
BOOL WINAPI CloseHandle(HANDLE hObject);
DWORD WINAPI GetLastError(void);
HANDLE __stdcall CreateThread(void *, size_t, LPTHREAD_START_ROUTINE, void *, DWORD, DWORD *);
