#nullable enable
// MSBuild inline task (compiled by RoslynCodeTaskFactory): marks chosen symbol-version requirements of an
// ELF64 shared library as weak (VER_FLG_WEAK), when the system's libstdc++ does not provide them.
// See TorchSharpLinuxFix.targets for why. Plain .NET Standard code: it runs inside MSBuild.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenElfVersionNeed : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Versions { get; set; } = "";

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        var wanted = Versions.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim()).ToList();
        string? libstdcxx = FindLibStdCxx();
        var missing = new List<string>();
        foreach (var v in wanted)
        {
            if (libstdcxx == null || !FileContains(libstdcxx, Encoding.ASCII.GetBytes(v + "\0"))) missing.Add(v);
        }
        if (missing.Count == 0)
        {
            Log.LogMessage(MessageImportance.Normal, $"MovingImages: system libstdc++ ({libstdcxx}) provides {string.Join(", ", wanted)}; libLibTorchSharp.so left as it is.");
            return true;
        }
        string why = libstdcxx == null ? "no system libstdc++.so.6 found" : $"{libstdcxx} lacks {string.Join(", ", missing)}";
        foreach (var item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                var changed = new List<string>();
                var already = new List<string>();
                MarkWeak(bytes, missing, changed, already);
                if (changed.Count == 0)
                {
                    Log.LogMessage(MessageImportance.Normal, already.Count > 0
                        ? $"MovingImages: {path}: {string.Join(", ", already)} already weak (patched earlier)."
                        : $"MovingImages: {path}: no requirement on {string.Join(", ", missing)}; nothing to do.");
                    continue;
                }
                // Never write through the original file (it could be a hard link into the NuGet cache):
                // write a new file beside it, then replace.
                string tmp = path + ".patching";
                File.Copy(path, tmp, true);
                using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Write)) fs.Write(bytes, 0, bytes.Length);
                File.Delete(path);
                File.Move(tmp, path);
                Log.LogMessage(MessageImportance.High, $"MovingImages: patched {path}: marked {string.Join(", ", changed)} weak ({why}).");
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogWarning($"MovingImages: could not patch {path}: {e.Message}. TorchSharp may fail to load; see environment.md.");
            }
        }
        return !Log.HasLoggedErrors;
    }

    static string? FindLibStdCxx()
    {
        var dirs = new List<string>();
        var ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld.Split(':'));
        dirs.AddRange(new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                              "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" });
        foreach (var d in dirs)
        {
            var p = Path.Combine(d, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    static bool FileContains(string path, byte[] needle)
    {
        var hay = File.ReadAllBytes(path);
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            if (hay[i] != needle[0]) continue;
            int j = 1;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry whose name is in <paramref name="names"/>.</summary>
    public static void MarkWeak(byte[] elf, IList<string> names, List<string> changed, List<string> already)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a little-endian ELF64 file");
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (sh + 64 > elf.Length) throw new InvalidDataException("section header table past end of file");
            uint type = BitConverter.ToUInt32(elf, (int)sh + 4);
            if (type != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            uint link = BitConverter.ToUInt32(elf, (int)sh + 0x28);
            uint count = BitConverter.ToUInt32(elf, (int)sh + 0x2C);
            long strSh = shoff + (long)link * shentsize;
            long strOff = (long)BitConverter.ToUInt64(elf, (int)strSh + 0x18);
            long vn = offset;
            for (uint n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                uint aux = BitConverter.ToUInt32(elf, (int)vn + 8);
                uint next = BitConverter.ToUInt32(elf, (int)vn + 12);
                long va = vn + aux;
                for (int a = 0; a < cnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(elf, (int)va + 4);
                    uint nameOff = BitConverter.ToUInt32(elf, (int)va + 8);
                    uint vnaNext = BitConverter.ToUInt32(elf, (int)va + 12);
                    string name = ReadCString(elf, strOff + nameOff);
                    if (names.Contains(name))
                    {
                        if ((flags & VerFlgWeak) != 0) already.Add(name);
                        else
                        {
                            flags |= VerFlgWeak;
                            elf[va + 4] = (byte)(flags & 0xff);
                            elf[va + 5] = (byte)(flags >> 8);
                            changed.Add(name);
                        }
                    }
                    if (vnaNext == 0) break;
                    va += vnaNext;
                }
                if (next == 0) break;
                vn += next;
            }
        }
    }

    static string ReadCString(byte[] b, long at)
    {
        long end = at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }
}
