; Inno Setup 6 script: a setup .exe for the PyInstaller bundle in dist\mfg-desktop (see BUILD.md).
;
;   iscc /DAppVersion=0.1.0 installer\windows\mfg_desktop.iss   ->  dist\mfg-desktop-0.1.0-setup.exe
;
; Installs into Program Files (or, chosen in the first dialog, for the current user only, which
; needs no administrator), with a Start-menu entry, an optional desktop shortcut, .mfgmodel files
; opening in the app and, optionally, mfg-desktop under "Open with" for CSV and Excel files.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Bundle "..\..\dist\mfg-desktop"
#define GuiExe "mfg-desktop-gui.exe"

[Setup]
AppId={{5E0C8F3A-3B7D-4C52-9A61-6F2D8E4B1C07}
AppName=mfg-desktop
AppVersion={#AppVersion}
AppPublisher=mfg_desktop team
AppComments=Offline machine-learning workbench for factory data
DefaultDirName={autopf}\mfg-desktop
DefaultGroupName=mfg-desktop
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
UninstallDisplayIcon={app}\{#GuiExe}
OutputDir=..\..\dist
OutputBaseFilename=mfg-desktop-{#AppVersion}-setup
; about 2 GB of files, mostly TensorFlow: fast LZMA2 in several threads keeps the build in minutes
Compression=lzma2/fast
SolidCompression=yes
LZMAUseSeparateProcess=yes
LZMANumBlockThreads=4
WizardStyle=modern
#if FileExists(AddBackslash(SourcePath) + "..\..\build\pyinstaller\mfg_desktop\mfg_desktop.ico")
SetupIconFile=..\..\build\pyinstaller\mfg_desktop\mfg_desktop.ico
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "openwith"; Description: "Offer mfg-desktop under ""Open with"" for CSV and Excel files"; GroupDescription: "File types:"

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\mfg-desktop"; Filename: "{app}\{#GuiExe}"; Comment: "Offline machine-learning workbench for factory data"
Name: "{autodesktop}\mfg-desktop"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Registry]
; HKA: HKLM for an all-users install, HKCU for a current-user one
; .mfgmodel files open in the app (its Predict step)
Root: HKA; Subkey: "Software\Classes\.mfgmodel"; ValueType: string; ValueName: ""; ValueData: "mfgdesktop.model"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\mfgdesktop.model"; ValueType: string; ValueName: ""; ValueData: "mfg-desktop model"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\mfgdesktop.model\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"
Root: HKA; Subkey: "Software\Classes\mfgdesktop.model\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""
; "Open with" for data files, without taking the default program away from Excel
Root: HKA; Subkey: "Software\Classes\mfgdesktop.data"; ValueType: string; ValueName: ""; ValueData: "Data file for mfg-desktop"; Flags: uninsdeletekey; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\mfgdesktop.data\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\mfgdesktop.data\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.csv\OpenWithProgids"; ValueType: string; ValueName: "mfgdesktop.data"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.xlsx\OpenWithProgids"; ValueType: string; ValueName: "mfgdesktop.data"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.xls\OpenWithProgids"; ValueType: string; ValueName: "mfgdesktop.data"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,mfg-desktop}"; Flags: nowait postinstall skipifsilent
