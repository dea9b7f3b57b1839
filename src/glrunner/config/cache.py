"""`[runners.cache]` and its `s3`/`gcs`/`azure` sub-tables. GitLab spells these keys in CamelCase."""

from __future__ import annotations

from typing import ClassVar, Literal

from glrunner.config.base import TomlModel, toml_key


class CacheS3Config(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"AssumeRoleMaxConcurrency"})

    server_address: str = toml_key("ServerAddress", "")
    access_key: str = toml_key("AccessKey", "")
    secret_key: str = toml_key("SecretKey", "")
    session_token: str = toml_key("SessionToken", "")
    bucket_name: str = toml_key("BucketName", "")
    bucket_location: str = toml_key("BucketLocation", "")
    insecure: bool = toml_key("Insecure", False)
    authentication_type: Literal["", "access-key", "iam"] = toml_key("AuthenticationType", "")
    server_side_encryption: str = toml_key("ServerSideEncryption", "")
    server_side_encryption_key_id: str = toml_key("ServerSideEncryptionKeyID", "")
    dual_stack: bool | None = toml_key("DualStack", None)
    path_style: bool | None = toml_key("PathStyle", None)
    accelerate: bool = toml_key("Accelerate", False)
    role_arn: str = toml_key("RoleARN", "")
    upload_role_arn: str = toml_key("UploadRoleARN", "")
    assume_role_max_concurrency: int = toml_key("AssumeRoleMaxConcurrency", 0)
    disable_assume_role_credentials_caching: bool = toml_key("DisableAssumeRoleCredentialsCaching", False)


class CacheGCSConfig(TomlModel):
    access_id: str = toml_key("AccessID", "")
    private_key: str = toml_key("PrivateKey", "")
    credentials_file: str = toml_key("CredentialsFile", "")
    bucket_name: str = toml_key("BucketName", "")
    universe_domain: str = toml_key("UniverseDomain", "")


class CacheAzureConfig(TomlModel):
    account_name: str = toml_key("AccountName", "")
    account_key: str = toml_key("AccountKey", "")
    container_name: str = toml_key("ContainerName", "")
    storage_domain: str = toml_key("StorageDomain", "")


class CacheConfig(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"MaxUploadedArchiveSize"})

    type: Literal["", "s3", "gcs", "azure", "s3v2", "gcsv2"] = toml_key("Type", "")
    path: str = toml_key("Path", "")
    shared: bool = toml_key("Shared", False)
    max_uploaded_archive_size: int = toml_key("MaxUploadedArchiveSize", 0)
    s3: CacheS3Config | None = None
    gcs: CacheGCSConfig | None = None
    azure: CacheAzureConfig | None = None
