; Inno Setup 6 script for Holdtype's Windows installer.
;
; packaging/build.py compiles it after PyInstaller when iscc (Inno Setup's compiler) is found:
;   iscc /DAppVersion=0.1.0 /DBuildDir=dist\holdtype /DOutputDir=dist /DIconFile=build\holdtype\icons\holdtype.ico holdtype.iss
; The defaults below work when iscc runs in packaging\windows of a checkout after a build.
;
; NOT VERIFIED: this script was written on Linux, where Inno Setup cannot run. Compile it once on
; Windows and install/uninstall in a clean VM before publishing (see packaging/README.md).
;
; Per-user install by default (no admin prompt; Program Files when run as admin). The Start menu
; entry and autostart use holdtype-tray.exe (no console window); holdtype.exe is the command line.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BuildDir
  #define BuildDir "..\..\dist\holdtype"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\holdtype\icons\holdtype.ico"
#endif

[Setup]
; Keep AppId forever: it is how upgrades and the uninstaller find an existing install.
AppId={{9B75EB84-1C17-4661-A034-08A0E5D8ED1D}
AppName=Holdtype
AppVersion={#AppVersion}
AppVerName=Holdtype {#AppVersion}
AppPublisher=Holdtype developers
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\Holdtype
DefaultGroupName=Holdtype
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=holdtype-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\holdtype-tray.exe
UninstallDisplayName=Holdtype
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; An upgrade does not tick last time's tasks again: "Start Holdtype when I sign in" would write
; the Run value back after the user turned it off in the app (what exists stays as it is).
UsePreviousTasks=no
; Ask a running Holdtype to close before files are replaced.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start Holdtype when I sign in"; GroupDescription: "Startup:"; Flags: unchecked

[Files]
; The whole PyInstaller one-folder build (holdtype.exe, holdtype-tray.exe, _internal\).
Source: "{#BuildDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; Files of an older version that the new one no longer ships would otherwise stay and may be loaded.
Type: filesandordirs; Name: "{app}\_internal"
; Older installers started Holdtype at sign-in by a Startup-folder shortcut; the Run value below
; (the one the app's own "Start Holdtype when I log in" writes) replaces it.
Type: files; Name: "{userstartup}\Holdtype.lnk"

[Registry]
; Start at sign-in: the same per-user Run value app/autostart.py writes and reads, so the
; settings window shows the box checked and turning it off there removes this entry.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "Holdtype"; ValueData: """{app}\holdtype-tray.exe"""; Tasks: autostart
; Uninstalling removes the value whoever wrote it (the task above or the settings window).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "Holdtype"; Flags: uninsdeletevalue dontcreatekey

[Icons]
Name: "{autoprograms}\Holdtype"; Filename: "{app}\holdtype-tray.exe"; Comment: "Hold a key, speak, let go"
Name: "{autodesktop}\Holdtype"; Filename: "{app}\holdtype-tray.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\holdtype-tray.exe"; Description: "{cm:LaunchProgram,Holdtype}"; Flags: nowait postinstall skipifsilent

; Settings, history and downloaded models live in the user's AppData folders (platformdirs) and
; are deliberately left in place by the uninstaller.
