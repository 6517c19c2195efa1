"""Catalogue and accounts, with the nine cities and the instrument classification.

The cities and categories are reference data fixed by API.md and the national
classification of large research instruments, so they are part of the schema.

Revision ID: f05efe528cc2
Revises:
Create Date: 2026-11-28 04:47:56.423059

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f05efe528cc2'
down_revision = None
branch_labels = None
depends_on = None

CITIES = [
    # code, name, name_en, province, province_en, division code, order
    ("songjiang", "松江", "Songjiang", "上海市", "Shanghai", "310117", 1),
    ("jiaxing", "嘉兴", "Jiaxing", "浙江省", "Zhejiang", "330400", 2),
    ("hangzhou", "杭州", "Hangzhou", "浙江省", "Zhejiang", "330100", 3),
    ("jinhua", "金华", "Jinhua", "浙江省", "Zhejiang", "330700", 4),
    ("suzhou", "苏州", "Suzhou", "江苏省", "Jiangsu", "320500", 5),
    ("huzhou", "湖州", "Huzhou", "浙江省", "Zhejiang", "330500", 6),
    ("xuancheng", "宣城", "Xuancheng", "安徽省", "Anhui", "341800", 7),
    ("wuhu", "芜湖", "Wuhu", "安徽省", "Anhui", "340200", 8),
    ("hefei", "合肥", "Hefei", "安徽省", "Anhui", "340100", 9),
]

CATEGORIES = [
    # code, name, name_en, parent
    ("analytical", "分析仪器", "Analytical instruments", None),
    ("analytical-electron-optics", "电子光学仪器", "Electron optical instruments", "analytical"),
    ("analytical-mass-spectrometry", "质谱仪器", "Mass spectrometers", "analytical"),
    ("analytical-x-ray", "X射线仪器", "X-ray instruments", "analytical"),
    ("analytical-spectroscopy", "光谱仪器", "Spectrometers", "analytical"),
    ("analytical-chromatography", "色谱仪器", "Chromatographs", "analytical"),
    ("analytical-resonance", "波谱仪器", "Magnetic resonance spectrometers", "analytical"),
    ("analytical-electrochemistry", "电化学仪器", "Electrochemical instruments", "analytical"),
    ("analytical-microscopy", "显微镜及图像分析仪器", "Microscopes and image analysis", "analytical"),
    ("analytical-thermal", "热分析仪器", "Thermal analysers", "analytical"),
    ("analytical-bioseparation", "生化分离分析仪器", "Biochemical separation and analysis", "analytical"),
    ("analytical-environmental", "环境与农业分析仪器", "Environmental and agricultural analysers", "analytical"),
    ("analytical-sample-prep", "样品前处理及制备仪器", "Sample preparation instruments", "analytical"),
    ("physical-testing", "物理性能测试仪器", "Physical property testing instruments", None),
    ("metrology", "计量仪器", "Metrology instruments", None),
    ("electronic-measurement", "电子测量仪器", "Electronic measuring instruments", None),
    ("marine", "海洋仪器", "Marine instruments", None),
    ("geophysical", "地球探测仪器", "Earth exploration instruments", None),
    ("atmospheric", "大气探测仪器", "Atmospheric sounding instruments", None),
    ("astronomical", "天文仪器", "Astronomical instruments", None),
    ("medical-diagnostic", "医学诊断仪器", "Medical diagnostic instruments", None),
    ("nuclear", "核仪器", "Nuclear instruments", None),
    ("special-testing", "特种检测仪器", "Special inspection instruments", None),
    ("process-equipment", "工艺实验设备", "Process and experimental equipment", None),
    ("computing", "计算机及其配套设备", "Computers and peripherals", None),
    ("laser", "激光器", "Lasers", None),
    ("other", "其他仪器", "Other instruments", None),
]


def upgrade():
    op.create_table('categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['categories.code'], name=op.f('fk_categories_parent_code_categories')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_parent_code'), ['parent_code'], unique=False)

    op.create_table('cities',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=60), nullable=False),
    sa.Column('province', sa.String(length=40), nullable=False),
    sa.Column('province_en', sa.String(length=60), nullable=False),
    sa.Column('division_code', sa.String(length=6), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_cities'))
    )
    op.create_table('firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_code'], ['cities.code'], name=op.f('fk_firms_city_code_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firms')),
    sa.UniqueConstraint('uscc', name=op.f('uq_firms_uscc'))
    )
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firms_city_code'), ['city_code'], unique=False)

    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['city_code'], ['cities.code'], name=op.f('fk_institutions_city_code_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('name', name=op.f('uq_institutions_name'))
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_city_code'), ['city_code'], unique=False)

    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('manufacturer', sa.String(length=120), nullable=False),
    sa.Column('country_of_origin', sa.String(length=40), nullable=False),
    sa.Column('original_value', sa.BigInteger(), nullable=True),
    sa.Column('commissioned_on', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('specifications', sa.Text(), nullable=False),
    sa.Column('functions', sa.Text(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('reference_fees', sa.Text(), nullable=False),
    sa.Column('sharing_rules', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=60), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('contact_email', sa.String(length=120), nullable=False),
    sa.Column('hourly_rate', sa.BigInteger(), nullable=False),
    sa.Column('min_booking_minutes', sa.Integer(), nullable=False),
    sa.Column('max_booking_minutes', sa.Integer(), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('advance_notice_hours', sa.Integer(), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('accepts_vouchers', sa.Boolean(), nullable=False),
    sa.Column('open_on_holidays', sa.Boolean(), nullable=False),
    sa.Column('quota_class', sa.String(length=10), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("quota_class IN ('general', 'special')", name=op.f('ck_instruments_quota_class')),
    sa.CheckConstraint("status IN ('normal', 'standby', 'occasional_fault', 'frequent_fault', 'awaiting_repair', 'awaiting_scrap')", name=op.f('ck_instruments_status')),
    sa.CheckConstraint('advance_notice_hours >= 0', name=op.f('ck_instruments_advance_notice')),
    sa.CheckConstraint('buffer_minutes >= 0', name=op.f('ck_instruments_buffer')),
    sa.CheckConstraint('hourly_rate >= 0', name=op.f('ck_instruments_hourly_rate')),
    sa.CheckConstraint('min_booking_minutes > 0 AND max_booking_minutes >= min_booking_minutes', name=op.f('ck_instruments_booking_length')),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_instruments_category_code_categories')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_instruments_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments'))
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruments_category_code'), ['category_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_institution_id'), ['institution_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('city_code', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("language IN ('zh_CN', 'en')", name=op.f('ck_users_language')),
    sa.CheckConstraint("role != 'city_admin' OR city_code IS NOT NULL", name=op.f('ck_users_city_admin_has_city')),
    sa.CheckConstraint("role != 'firm' OR firm_id IS NOT NULL", name=op.f('ck_users_firm_has_firm')),
    sa.CheckConstraint("role != 'manager' OR institution_id IS NOT NULL", name=op.f('ck_users_manager_has_institution')),
    sa.CheckConstraint("role IN ('firm', 'manager', 'city_admin', 'admin')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['city_code'], ['cities.code'], name=op.f('fk_users_city_code_cities')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_users_firm_id_firms')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_users_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_institution_id'), ['institution_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('open_minute', sa.SmallInteger(), nullable=False),
    sa.Column('close_minute', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('open_minute >= 0 AND close_minute <= 1440 AND close_minute > open_minute', name=op.f('ck_opening_hours_interval')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_opening_hours_weekday')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_opening_hours_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_hours'))
    )
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_hours_instrument_id'), ['instrument_id'], unique=False)


    cities = sa.table("cities", *(sa.column(n) for n in (
        "code", "name", "name_en", "province", "province_en", "division_code", "sort_order")))
    op.bulk_insert(cities, [dict(zip(cities.c.keys(), row, strict=True)) for row in CITIES])
    categories = sa.table("categories", *(sa.column(n) for n in (
        "code", "name", "name_en", "parent_code", "sort_order")))
    op.bulk_insert(categories, [
        dict(zip(categories.c.keys(), (*row, order), strict=True)) for order, row in enumerate(CATEGORIES)
    ])


def downgrade():
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_hours_instrument_id'))

    op.drop_table('opening_hours')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_institution_id'))
        batch_op.drop_index(batch_op.f('ix_users_firm_id'))

    op.drop_table('users')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruments_institution_id'))
        batch_op.drop_index(batch_op.f('ix_instruments_category_code'))

    op.drop_table('instruments')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_city_code'))

    op.drop_table('institutions')
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firms_city_code'))

    op.drop_table('firms')
    op.drop_table('cities')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_parent_code'))

    op.drop_table('categories')
