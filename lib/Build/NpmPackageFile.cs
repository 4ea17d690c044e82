#nullable enable
// MSBuild inline task (compiled by RoslynCodeTaskFactory): takes one file out of an npm package tarball — downloaded
// once from the npm registry into a cache folder, checked against the registry's sha512 integrity string — and writes
// it to a destination. See NpmAssets.targets. Plain .NET Standard code: it runs inside MSBuild.
using System;
using System.IO;
using System.IO.Compression;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class NpmPackageFile : Task
{
    [Required] public string TarballUrl { get; set; } = "";
    [Required] public string Integrity { get; set; } = "";
    [Required] public string CacheFile { get; set; } = "";
    [Required] public string Entry { get; set; } = "";
    [Required] public string Destination { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            if (!File.Exists(CacheFile) || Sri(CacheFile) != Integrity) Download();
            string got = Sri(CacheFile);
            if (got != Integrity)
            {
                File.Delete(CacheFile);
                Log.LogWarning($"MovingImages: {TarballUrl} has integrity {got}, expected {Integrity}; discarded. Interactive charts will say plotly.js is missing.");
                return true;
            }
            byte[]? content = Extract(CacheFile, Entry);
            if (content == null)
            {
                Log.LogWarning($"MovingImages: {CacheFile} has no entry {Entry}.");
                return true;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
            string tmp = Destination + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(tmp, content);
            if (File.Exists(Destination)) File.Delete(Destination);
            File.Move(tmp, Destination);
            Log.LogMessage(MessageImportance.Normal, $"MovingImages: {Entry} of {Path.GetFileName(CacheFile)} ({Integrity.Substring(0, 20)}…) → {Destination}");
        }
        catch (Exception e) when (e is IOException or HttpRequestException or UnauthorizedAccessException or InvalidDataException or System.Threading.Tasks.TaskCanceledException)
        {
            // Offline builds still succeed; the charts then say what is missing and how to get it.
            Log.LogWarning($"MovingImages: could not get {Entry} from {TarballUrl}: {e.Message}. Interactive charts will say plotly.js is missing; build again with access to registry.npmjs.org.");
        }
        return true;
    }

    void Download()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CacheFile)!);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        using var response = http.GetAsync(TarballUrl, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
        response.EnsureSuccessStatusCode();
        string part = CacheFile + "." + Guid.NewGuid().ToString("N") + ".part"; // projects building in parallel may both download
        using (var input = response.Content.ReadAsStreamAsync().GetAwaiter().GetResult())
        using (var output = File.Create(part)) input.CopyTo(output);
        try
        {
            if (File.Exists(CacheFile) && Sri(CacheFile) != Integrity) File.Delete(CacheFile);
            if (!File.Exists(CacheFile)) File.Move(part, CacheFile);
        }
        catch (IOException) when (File.Exists(CacheFile))
        {
            // another build placed it first
        }
        finally
        {
            if (File.Exists(part)) File.Delete(part);
        }
    }

    static string Sri(string path)
    {
        using var sha = SHA512.Create();
        using var stream = File.OpenRead(path);
        return "sha512-" + Convert.ToBase64String(sha.ComputeHash(stream));
    }

    /// <summary>One regular file's bytes from a .tgz (ustar: name, prefix, octal size; 512-byte blocks).</summary>
    static byte[]? Extract(string tgz, string entry)
    {
        using var gz = new GZipStream(File.OpenRead(tgz), CompressionMode.Decompress);
        var header = new byte[512];
        while (ReadFull(gz, header))
        {
            if (header[0] == 0) return null; // end of archive
            string name = Field(header, 0, 100), prefix = Field(header, 345, 155);
            if (prefix.Length > 0) name = prefix + "/" + name;
            long size = Convert.ToInt64(Field(header, 124, 12).Trim() is { Length: > 0 } s ? s : "0", 8);
            if (size < 0 || size > 256L << 20) throw new InvalidDataException($"{tgz}: entry {name}: size {size}");
            var data = new byte[size];
            if (!ReadFull(gz, data)) throw new InvalidDataException($"{tgz}: entry {name} is cut short");
            long pad = (512 - size % 512) % 512;
            if (pad > 0 && !ReadFull(gz, new byte[pad])) throw new InvalidDataException($"{tgz}: cut short after {name}");
            char type = (char)header[156];
            if ((type == '0' || type == '\0') && name == entry) return data;
        }
        return null;
    }

    static string Field(byte[] header, int offset, int length)
    {
        int end = Array.IndexOf(header, (byte)0, offset, length);
        return Encoding.ASCII.GetString(header, offset, (end < 0 ? offset + length : end) - offset);
    }

    static bool ReadFull(Stream s, byte[] buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Read(buffer, got, buffer.Length - got);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }
}
